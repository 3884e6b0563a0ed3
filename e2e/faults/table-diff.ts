// One replicated table compared between PostgreSQL and ClickHouse's `<table>_current`, cheap first:
// per range of 65,536 ids each database computes the count, the sum of the ids and the sum of the
// rows' 64-bit digests (canonical.ts), and only ranges that differ are looked into: per 1,024 ids
// the same sums, then (id, digest) per row of the 1,024-id ranges that still differ, so one wrong row
// in millions costs three small queries per side. Sums are exact on both sides (numeric in
// PostgreSQL, Int128 in ClickHouse) and compared as text, as are ids (bigint / Int64).

import type { ClickHouseClient } from "@adpipe/shared/clickhouse";
import type { TableName } from "@adpipe/shared/contract";
import type { Pool } from "@adpipe/shared/pg";
import { rowHash, rowText } from "./canonical.ts";

const COARSE = 65_536;
const FINE = 1_024;
/** Examples of differences kept for the report (all of them are counted). */
export const SAMPLE_LIMIT = 5;

export interface TableDiff {
  /** Rows in PostgreSQL and not in ClickHouse. */
  lost: number;
  /** Rows in ClickHouse and not in PostgreSQL, or ids ClickHouse shows more than once. */
  extra: number;
  /** Rows on both sides whose compared columns differ. */
  wrong: number;
  /** Id ranges of 65,536 whose counts or sums differ (0: the table is exact). */
  ranges: number;
  /** False when only the ranges were compared (lost and extra are then the count differences, wrong 0). */
  detailed: boolean;
}

interface Sums {
  n: string;
  ids: string;
  h: string;
}
export type Ranges = Map<string, Sums>;

async function chRows<T>(ch: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await ch.query({ query, format: "JSONEachRow" });
  return (await rs.json()) as T[];
}

/** `id` within any of the ranges starting at `starts` (each `size` ids). */
const within = (starts: bigint[], size: number) =>
  starts.length === 0
    ? "true"
    : `(${starts.map((s) => `(id >= ${s} AND id < ${s + BigInt(size)})`).join(" OR ")})`;

const pgSums = (table: TableName, size: number, where: string) =>
  `SELECT (id / ${size})::text AS b, count(*)::text AS n, sum(id)::text AS ids, sum(${rowHash.pg(table)})::text AS h
   FROM ${table} WHERE ${where} GROUP BY 1`;
const toRanges = (rows: ({ b: string } & Sums)[]): Ranges =>
  new Map(rows.map((r) => [String(r.b), { n: String(r.n), ids: String(r.ids), h: String(r.h) }]));

/** PostgreSQL's count, sum of ids and sum of digests per range of 65,536 ids (`q`: a pool or a client). */
export const postgresRanges = async (q: Pick<Pool, "query">, table: TableName) =>
  toRanges((await q.query<{ b: string } & Sums>(pgSums(table, COARSE, "true"))).rows);

/** The same sums of ClickHouse's `<table>_current`. */
export const clickhouseRanges = (ch: ClickHouseClient, table: TableName, size = COARSE, where = "true") =>
  chRows<{ b: string } & Sums>(
    ch,
    `SELECT toString(intDiv(id, ${size})) AS b, toString(count()) AS n, toString(sum(toInt128(id))) AS ids,
            toString(sum(toInt128(${rowHash.ch(table)}))) AS h
     FROM ${table}_current WHERE ${where} GROUP BY b`,
  ).then(toRanges);

/** Count, sum of ids and sum of digests per range of `size` ids (where `where` holds), on both sides. */
const ranges = (pool: Pool, ch: ClickHouseClient, table: TableName, size: number, where: string) =>
  Promise.all([
    pool.query<{ b: string } & Sums>(pgSums(table, size, where)).then((r) => toRanges(r.rows)),
    clickhouseRanges(ch, table, size, where),
  ]);

const same = (a: Sums | undefined, b: Sums | undefined) =>
  a !== undefined && b !== undefined && a.n === b.n && a.ids === b.ids && a.h === b.h;
const differing = ([pg, ch]: [Ranges, Ranges]) =>
  [...new Set([...pg.keys(), ...ch.keys()])].filter((b) => !same(pg.get(b), ch.get(b))).map(BigInt);

/**
 * Compares `table` given both sides' sums per 65,536 ids (postgresRanges, clickhouseRanges); with
 * `detail`, counts every lost, extra and wrong row and adds examples to `sample` (up to
 * SAMPLE_LIMIT in all), otherwise stops at those ranges.
 */
export async function diffTable(
  pool: Pool,
  ch: ClickHouseClient,
  table: TableName,
  coarse: [Ranges, Ranges],
  o: { detail: boolean; sample: string[] },
): Promise<TableDiff> {
  const bad = differing(coarse);
  const diff: TableDiff = { lost: 0, extra: 0, wrong: 0, ranges: bad.length, detailed: o.detail };
  if (bad.length === 0) return diff;
  if (!o.detail) {
    for (const b of bad.map(String)) {
      const d = Number(coarse[0].get(b)?.n ?? 0) - Number(coarse[1].get(b)?.n ?? 0);
      if (d > 0) diff.lost += d;
      else diff.extra -= d;
    }
    const first = bad[0] as bigint;
    const sums = (m: Ranges) => JSON.stringify(m.get(String(first)) ?? "none");
    if (o.sample.length < SAMPLE_LIMIT)
      o.sample.push(
        `${table}: ${bad.length} range(s) of ${COARSE} ids differ (${diff.lost} rows fewer, ${diff.extra} more in ClickHouse), e.g. ids from ${first * BigInt(COARSE)}: PostgreSQL ${sums(coarse[0])}, ClickHouse ${sums(coarse[1])}`,
      );
    return diff;
  }
  const where = within(
    bad.map((b) => b * BigInt(COARSE)),
    COARSE,
  );
  const fine = differing(await ranges(pool, ch, table, FINE, where)).map((b) => b * BigInt(FINE));
  await diffRows(pool, ch, table, fine, diff, o.sample);
  return diff;
}

/** Row by row over the ranges of FINE ids starting at `starts`, in slices of 64 ranges. */
async function diffRows(
  pool: Pool,
  ch: ClickHouseClient,
  table: TableName,
  starts: bigint[],
  diff: TableDiff,
  sample: string[],
) {
  const examples: { id: string; what: string }[] = [];
  for (let i = 0; i < starts.length; i += 64) {
    const where = within(starts.slice(i, i + 64), FINE);
    const [pg, chs] = await Promise.all([
      pool.query<{ id: string; h: string }>(
        `SELECT id::text AS id, (${rowHash.pg(table)})::text AS h FROM ${table} WHERE ${where}`,
      ),
      chRows<{ rid: string; h: string }>(
        ch,
        `SELECT toString(id) AS rid, toString(${rowHash.ch(table)}) AS h FROM ${table}_current WHERE ${where}`,
      ),
    ]);
    const p = new Map(pg.rows.map((r) => [r.id, r.h]));
    const c = new Map<string, string[]>();
    for (const r of chs) c.set(r.rid, [...(c.get(r.rid) ?? []), r.h]);
    for (const [id, h] of p) {
      const other = c.get(id);
      if (other === undefined) {
        diff.lost++;
        examples.push({ id, what: "lost" });
      } else if (!other.includes(h)) {
        diff.wrong++;
        examples.push({ id, what: "wrong" });
      }
      if (other && other.length > 1) {
        diff.extra += other.length - 1;
        examples.push({ id, what: `shown ${other.length} times` });
      }
    }
    for (const id of c.keys())
      if (!p.has(id)) {
        diff.extra += c.get(id)?.length ?? 1;
        examples.push({ id, what: "extra" });
      }
  }
  if (examples.length === 0 || sample.length >= SAMPLE_LIMIT) return;
  sample.push(`${table}: ${diff.lost} lost, ${diff.extra} extra, ${diff.wrong} wrong`);
  const shown = examples.slice(0, Math.max(0, SAMPLE_LIMIT - sample.length));
  const texts = await rowTexts(
    pool,
    ch,
    table,
    shown.map((e) => e.id),
  );
  for (const e of shown)
    sample.push(
      `${table} ${e.id} ${e.what}: PostgreSQL ${texts.pg.get(e.id) ?? "none"}, ClickHouse ${texts.ch.get(e.id)?.join(" + ") ?? "none"}`,
    );
}

/** The canonical text of a few rows on each side (for the examples). */
async function rowTexts(pool: Pool, ch: ClickHouseClient, table: TableName, ids: string[]) {
  const list = ids.map((id) => BigInt(id).toString()).join(", ");
  const [pg, chs] = await Promise.all([
    pool.query<{ id: string; r: string }>(
      `SELECT id::text AS id, ${rowText.pg(table)} AS r FROM ${table} WHERE id IN (${list})`,
    ),
    chRows<{ rid: string; r: string }>(
      ch,
      `SELECT toString(id) AS rid, ${rowText.ch(table)} AS r FROM ${table}_current WHERE id IN (${list})`,
    ),
  ]);
  const c = new Map<string, string[]>();
  for (const r of chs) c.set(r.rid, [...(c.get(r.rid) ?? []), r.r].sort());
  return { pg: new Map(pg.rows.map((r) => [r.id, r.r])), ch: c };
}
