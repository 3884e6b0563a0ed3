// "Exact" for the fault suite: every `<table>_current` in ClickHouse holds exactly PostgreSQL's
// rows, and every campaign's KPIs served by the reporter equal the same KPIs computed from
// PostgreSQL (the truth test's query). The tables are compared cheap first (table-diff.ts: per id
// range, count, sum of ids and sum of row digests computed inside each database); while polling
// only those sums are read, and the measurement that reports damage counts every lost, extra and
// wrong row.

import { type ClickHouseClient, createClickHouse } from "@adpipe/shared/clickhouse";
import { TABLES, type TableName } from "@adpipe/shared/contract";
import type { Pool } from "@adpipe/shared/pg";
import { rowDifferences, TRUTH_CAMPAIGNS } from "@adpipe/testing/truth";
import { type PostgresSumsCache, postgresSums } from "./pg-sums.ts";
import type { Stack } from "./stack.ts";
import { clickhouseRanges, diffTable, type Ranges, SAMPLE_LIMIT, type TableDiff } from "./table-diff.ts";

export type { TableDiff } from "./table-diff.ts";

export interface Exactness {
  exact: boolean;
  tables: Record<TableName, TableDiff>;
  /** Campaigns whose served KPIs differ from PostgreSQL's (or are missing / extra); -1: not compared. */
  kpisWrong: number;
  /** The first differences, for the report. */
  sample: string[];
  /** Milliseconds each part took: every table, `kpis`, and `total`. */
  timings: Record<string, number>;
}

/** KPIs that follow the clock (the pacing's elapsed seconds), not the data: read at another instant here. */
const CLOCK_FIELDS = new Set(["elapsed_days", "planned_to_date", "pacing"]);

async function diffKpis(pool: Pool, reporterUrl: string, sample: string[]): Promise<number> {
  const now = new Date().toISOString();
  const clock = now.slice(0, 19).replace("T", " ");
  const truth = (await pool.query(TRUTH_CAMPAIGNS, [now.slice(0, 10), clock])).rows as Record<
    string,
    unknown
  >[];
  const res = await fetch(`${reporterUrl}/kpis/campaigns`);
  if (!res.ok) throw new Error(`GET /kpis/campaigns answered ${res.status}`);
  const served = new Map(
    ((await res.json()) as Record<string, unknown>[]).map((r) => [Number(r.campaign_id), r]),
  );
  let wrong = Math.max(0, served.size - truth.length);
  for (const t of truth) {
    const expected = Object.fromEntries(Object.entries(t).filter(([k]) => !CLOCK_FIELDS.has(k)));
    const s = served.get(Number(t.campaign_id));
    const differences = s ? rowDifferences(s, expected) : ["missing"];
    if (differences.length > 0) {
      wrong++;
      if (sample.length < SAMPLE_LIMIT)
        sample.push(`KPIs of campaign ${t.campaign_id}: ${differences.slice(0, 3).join("; ")}`);
    }
  }
  return wrong;
}

/**
 * Every table compared (table-diff.ts): PostgreSQL's sums (kept in `cache` while its rows cannot
 * have changed, pg-sums.ts) and ClickHouse's read at once, then the ranges that differ looked
 * into. Timings: `postgres` (naming the tables whose sums were kept), `clickhouse`, and the look
 * into each table that differs.
 */
export async function compareTables(
  pool: Pool,
  ch: ClickHouseClient,
  o: { detail: boolean; sample?: string[]; cache?: PostgresSumsCache },
) {
  const sample = o.sample ?? [];
  const tables = {} as Record<TableName, TableDiff>;
  const timings: Record<string, number> = {};
  const timed = async <T>(what: string, f: () => Promise<T>) => {
    const started = performance.now();
    const r = await f();
    timings[what] = Math.round(performance.now() - started);
    return r;
  };
  const [pg, chs] = await Promise.all([
    timed("postgres", () => postgresSums(pool, TABLES, o.cache)),
    timed("clickhouse", () => Promise.all(TABLES.map((t) => clickhouseRanges(ch, t)))),
  ]);
  if (pg.kept.length > 0) {
    timings[`postgres (${pg.kept.join(", ")} kept)`] = timings.postgres as number;
    delete timings.postgres;
  }
  for (const [i, t] of TABLES.entries()) {
    const coarse: [Ranges, Ranges] = [pg.sums.get(t) as Ranges, chs[i] as Ranges];
    const diff = await timed(t, () => diffTable(pool, ch, t, coarse, { detail: o.detail, sample }));
    tables[t] = diff;
    if (diff.ranges === 0) delete timings[t];
  }
  const exact = Object.values(tables).every((d) => d.ranges === 0);
  return { exact, tables, sample, timings };
}

/**
 * The whole comparison once. Without `detail` the tables' differences are only their id ranges'
 * (enough to tell exact from not, in seconds); with it every lost, extra and wrong row is counted.
 */
export async function measureExactness(
  stack: Stack,
  o: { detail?: boolean; cache?: PostgresSumsCache; reporterUrl?: string } = {},
): Promise<Exactness> {
  const ch = createClickHouse({
    url: stack.clickhouseUrl,
    ...stack.clickhouseLogin,
    database: stack.database,
  });
  try {
    const started = performance.now();
    const rows = await compareTables(stack.pool, ch, { detail: o.detail ?? false, cache: o.cache });
    // KPIs are only meaningful once the rows are there (the reporter rebuilds after them).
    const kpisStarted = performance.now();
    // The KPIs as `reporterUrl` serves them (default: the stack's reporter).
    const reporterUrl = o.reporterUrl ?? stack.urls.reporter;
    const kpisWrong = rows.exact ? await diffKpis(stack.pool, reporterUrl, rows.sample) : -1;
    const timings = { ...rows.timings, kpis: Math.round(performance.now() - kpisStarted) };
    return {
      exact: rows.exact && kpisWrong === 0,
      tables: rows.tables,
      kpisWrong,
      sample: rows.sample,
      timings: { ...timings, total: Math.round(performance.now() - started) },
    };
  } finally {
    await ch.close();
  }
}

/** "impressions 1.2 s, clicks 0.1 s, ..., kpis 0.3 s, total 2.0 s" */
export const formatTimings = (t: Record<string, number>) =>
  Object.entries(t)
    .map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`)
    .join(", ");

/**
 * Polls until exact or `timeoutMs`; resolves with the milliseconds it took (null if never) and
 * the last measurement. A comparison that fails (a piece still starting) counts as not exact.
 */
export async function waitForExact(
  stack: Stack,
  timeoutMs: number,
  reporterUrl = stack.urls.reporter,
): Promise<{ ms: number | null; last: Exactness | null; error?: string; checkMs?: number }> {
  const started = Date.now();
  let last: Exactness | null = null;
  let error: string | undefined;
  // PostgreSQL's sums are read again only when its rows may have changed (pg-sums.ts).
  const cache: PostgresSumsCache = new Map();
  const measure = (detail = false) =>
    measureExactness(stack, { detail, cache, reporterUrl }).then(
      (e) => {
        error = undefined;
        return e;
      },
      (err) => {
        // A piece still starting, or the comparison itself broken: say which if it never works.
        error = err instanceof Error ? err.message : String(err);
        return last;
      },
    );
  while (Date.now() - started < timeoutMs) {
    const checkStarted = Date.now();
    last = await measure();
    // checkMs: how long the comparison that found it exact took (the figure's resolution).
    if (last?.exact) return { ms: Date.now() - started, last, checkMs: Date.now() - checkStarted };
    await Bun.sleep(250);
  }
  // The deadline's measurement counts the damage row by row.
  return { ms: null, last: await measure(true), error };
}
