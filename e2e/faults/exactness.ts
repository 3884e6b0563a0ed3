// "Exact" for the fault suite: every `<table>_current` in ClickHouse holds exactly PostgreSQL's
// rows, and every campaign's KPIs served by the reporter equal the same KPIs computed from
// PostgreSQL (the truth test's query). Cheap first (per id bucket: count and sums of the
// columns on both sides), row by row only where a bucket differs, so the rows lost, extra and
// wrong are counted exactly without reading millions of rows every poll.

import { type ClickHouseClient, createClickHouse } from "@adpipe/shared/clickhouse";
import { TABLES, type TableName } from "@adpipe/shared/contract";
import type { Pool } from "@adpipe/shared/pg";
import { rowDifferences, TRUTH_CAMPAIGNS } from "@adpipe/testing/truth";
import type { Stack } from "./stack.ts";

const BUCKET = 65_536;

/** A row's text on each side: its columns, NULL as "N", times as microseconds, money with 2 decimals. */
const pgText = (cols: string[]) =>
  `concat_ws('|', ${cols.map((c) => `coalesce((${c})::text, 'N')`).join(", ")})`;
const chText = (cols: string[]) =>
  `concat_ws('|', ${cols.map((c) => `ifNull(toString(${c}), 'N')`).join(", ")})`;
const pgMicros = (c: string) => `(extract(epoch from ${c}) * 1e6)::bigint`;
const chMicros = (c: string) => `toUnixTimestamp64Micro(${c})`;
const fact = {
  pg: pgText(["campaign_id", pgMicros("created_at")]),
  ch: chText(["campaign_id", chMicros("created_at")]),
};
const ROW: Record<TableName, { pg: string; ch: string }> = {
  advertiser: {
    pg: pgText(["name", pgMicros("updated_at"), pgMicros("created_at")]),
    ch: chText(["name", chMicros("updated_at"), chMicros("created_at")]),
  },
  campaign: {
    pg: pgText([
      "name",
      "bid",
      "budget",
      "start_date",
      "end_date",
      "advertiser_id",
      pgMicros("updated_at"),
      pgMicros("created_at"),
    ]),
    ch: chText([
      "name",
      "toDecimalString(bid, 2)",
      "toDecimalString(budget, 2)",
      "start_date",
      "end_date",
      "advertiser_id",
      chMicros("updated_at"),
      chMicros("created_at"),
    ]),
  },
  impressions: fact,
  clicks: fact,
  campaign_bids: {
    pg: pgText(["campaign_id", "bid", pgMicros("valid_from")]),
    ch: chText(["campaign_id", "toDecimalString(bid, 2)", chMicros("valid_from")]),
  },
};

/** Per bucket: count, sum of ids, and sum of the first 4 bytes of each row text's MD5. */
const SUMMARY = {
  pg: (t: TableName) =>
    `SELECT (id / ${BUCKET})::int AS b, count(*)::text AS n, sum(id)::text AS ids,
            sum(('x' || substr(md5(${ROW[t].pg}), 1, 8))::bit(32)::bigint)::text AS h
     FROM ${t} GROUP BY 1`,
  ch: (t: TableName) =>
    `SELECT toInt32(intDiv(id, ${BUCKET})) AS b, toString(count()) AS n, toString(sum(id)) AS ids,
            toString(sum(toUInt64(reinterpretAsUInt32(reverse(substring(MD5(${ROW[t].ch}), 1, 4)))))) AS h
     FROM ${t}_current GROUP BY b`,
};

export interface TableDiff {
  lost: number;
  extra: number;
  wrong: number;
}

export interface Exactness {
  exact: boolean;
  tables: Record<TableName, TableDiff>;
  /** Campaigns whose served KPIs differ from PostgreSQL's (or are missing / extra). */
  kpisWrong: number;
  /** The first differences, for the report. */
  sample: string[];
}

type Summary = Map<number, string>;

async function chRows<T>(ch: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await ch.query({ query, format: "JSONEachRow" });
  return (await rs.json()) as T[];
}

async function diffTable(
  pool: Pool,
  ch: ClickHouseClient,
  table: TableName,
  sample: string[],
): Promise<TableDiff> {
  const key = (r: { n: string; ids: string; h: string }) => `${r.n}/${r.ids}/${r.h}`;
  const pg: Summary = new Map(
    (await pool.query<{ b: number; n: string; ids: string; h: string }>(SUMMARY.pg(table))).rows.map((r) => [
      r.b,
      key(r),
    ]),
  );
  const chs: Summary = new Map(
    (await chRows<{ b: number; n: string; ids: string; h: string }>(ch, SUMMARY.ch(table))).map((r) => [
      Number(r.b),
      key(r),
    ]),
  );
  const differing = [...new Set([...pg.keys(), ...chs.keys()])].filter((b) => pg.get(b) !== chs.get(b));
  const diff = { lost: 0, extra: 0, wrong: 0 };
  for (const b of differing) {
    const [lo, hi] = [b * BUCKET, (b + 1) * BUCKET];
    const p = new Map(
      (
        await pool.query<{ id: number; r: string }>(
          `SELECT id, ${ROW[table].pg} AS r FROM ${table} WHERE id >= $1 AND id < $2`,
          [lo, hi],
        )
      ).rows.map((r) => [Number(r.id), r.r]),
    );
    const c = new Map(
      (
        await chRows<{ id: number; r: string }>(
          ch,
          `SELECT id, ${ROW[table].ch} AS r FROM ${table}_current WHERE id >= ${lo} AND id < ${hi}`,
        )
      ).map((r) => [Number(r.id), r.r]),
    );
    for (const [id, text] of p) {
      const other = c.get(id);
      if (other === undefined) diff.lost++;
      else if (other !== text) {
        diff.wrong++;
        if (sample.length < 5) sample.push(`${table} ${id}: ClickHouse ${other}, PostgreSQL ${text}`);
      }
    }
    for (const id of c.keys()) if (!p.has(id)) diff.extra++;
    if (sample.length < 5 && (diff.lost || diff.extra))
      sample.push(`${table}: ${diff.lost} lost, ${diff.extra} extra so far`);
  }
  return diff;
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
      if (sample.length < 5)
        sample.push(`KPIs of campaign ${t.campaign_id}: ${differences.slice(0, 3).join("; ")}`);
    }
  }
  return wrong;
}

/** The whole comparison once; the KPIs as `reporterUrl` serves them (default: the stack's reporter). */
export async function measureExactness(stack: Stack, reporterUrl = stack.urls.reporter): Promise<Exactness> {
  const ch = createClickHouse({
    url: stack.clickhouseUrl,
    ...stack.clickhouseLogin,
    database: stack.database,
  });
  try {
    const sample: string[] = [];
    const tables = {} as Record<TableName, TableDiff>;
    for (const t of TABLES) tables[t] = await diffTable(stack.pool, ch, t, sample);
    const rowsExact = TABLES.every((t) => !tables[t].lost && !tables[t].extra && !tables[t].wrong);
    // KPIs are only meaningful once the rows are there (the reporter rebuilds after them).
    const kpisWrong = rowsExact ? await diffKpis(stack.pool, reporterUrl, sample) : -1;
    return { exact: rowsExact && kpisWrong === 0, tables, kpisWrong, sample };
  } finally {
    await ch.close();
  }
}

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
  const measure = () =>
    measureExactness(stack, reporterUrl).then(
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
  return { ms: null, last: await measure(), error };
}
