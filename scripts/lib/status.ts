import type { ClickHouseClient } from "@adpipe/shared/clickhouse";
import { TABLES, type TableName } from "@adpipe/shared/contract";
import type { Pool } from "@adpipe/shared/pg";

const fmt = (n: number) => n.toLocaleString("en");
type Counts = Record<TableName, number>;

export interface StatusSources {
  pool: Pool;
  clickhouse: ClickHouseClient;
  database: string;
  extractorUrl?: string;
  loaderUrl?: string;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return (await res.json()) as T;
}

async function postgresCounts(pool: Pool): Promise<Counts> {
  const { rows } = await pool.query<Counts>(
    `SELECT ${TABLES.map((t) => `(SELECT count(*) FROM ${t})::int AS ${t}`).join(", ")}`,
  );
  return rows[0] as Counts;
}

/** What a reader of ClickHouse sees: the `_current` views (newest version, deletes applied). */
async function clickhouseCounts(clickhouse: ClickHouseClient, database: string): Promise<Counts> {
  const result = await clickhouse.query({
    query: `SELECT ${TABLES.map((t) => `(SELECT count() FROM ${database}.${t}_current) AS ${t}`).join(", ")}`,
    format: "JSONEachRow",
  });
  const [row] = await result.json<Record<TableName, string>>();
  return Object.fromEntries(TABLES.map((t) => [t, Number(row?.[t] ?? 0)])) as Counts;
}

/**
 * Seconds since the stalest table's watermark last advanced (the extractor advances every cycle);
 * a paused table is named instead of counted (its watermark stands still on purpose).
 */
async function extractorLag(url: string): Promise<string> {
  const { watermarks } = await getJson<{
    watermarks: { table: string; updatedAt: string | null; pausedSince?: string | null }[];
  }>(`${url}/watermarks`);
  const paused = watermarks
    .filter((w) => w.pausedSince)
    .map((w) => `${w.table} paused since ${w.pausedSince}`);
  const flowing = watermarks.filter((w) => !w.pausedSince);
  const times = flowing.map((w) => (w.updatedAt ? Date.parse(w.updatedAt) : 0));
  if (times.some((t) => t === 0)) return "extractor starting";
  const seconds = times.length > 0 ? (Date.now() - Math.min(...times)) / 1000 : 0;
  return [`extractor ${Math.max(0, seconds).toFixed(1)} s behind`, ...paused].join(", ");
}

/** Delta batches in the stream that no loader has acknowledged yet. */
async function loaderPending(url: string): Promise<string> {
  const { tables } = await getJson<{
    tables: Record<string, { pending?: number; unacknowledged?: number }>;
  }>(`${url}/status`);
  const n = Object.values(tables).reduce((sum, t) => sum + (t.pending ?? 0) + (t.unacknowledged ?? 0), 0);
  return `loader ${fmt(n)} batches pending`;
}

const orUnavailable = (what: string, p: Promise<string>) => p.catch(() => `${what} unavailable`);

/**
 * The live one-line status: per table, rows in PostgreSQL → rows in ClickHouse, then the lag.
 * Each part degrades on its own, so one unreachable piece never hides the others.
 */
export function createStatus(sources: StatusSources) {
  return {
    async line(): Promise<string> {
      const [pg, ch, extractor, loader] = await Promise.all([
        postgresCounts(sources.pool).catch(() => undefined),
        clickhouseCounts(sources.clickhouse, sources.database).catch(() => undefined),
        sources.extractorUrl ? orUnavailable("extractor", extractorLag(sources.extractorUrl)) : undefined,
        sources.loaderUrl ? orUnavailable("loader", loaderPending(sources.loaderUrl)) : undefined,
      ]);
      const tables = TABLES.map((t) => `${t} ${pg ? fmt(pg[t]) : "?"} → ${ch ? fmt(ch[t]) : "?"}`).join(", ");
      const lag = [extractor, loader].filter(Boolean).join(", ");
      return `postgres → clickhouse: ${tables}${lag ? ` | ${lag}` : ""}`;
    },
    /** Rows per table in ClickHouse's `_current` views, for callers that wait on the pipeline. */
    clickhouseCounts: () => clickhouseCounts(sources.clickhouse, sources.database),
  };
}
