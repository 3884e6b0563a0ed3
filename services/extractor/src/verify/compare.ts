import type { ClickHouseSide, PostgresSide, RangeSum, RowHashes } from "./sides.ts";

export interface CompareStats {
  ranges: number;
  rows: number;
}

export interface CompareOptions {
  chunkIds: number;
  leafIds: number;
  /** Called before each chunk (the verifier's stop check). */
  onChunk?: () => void;
}

const same = (a: RangeSum, b: RangeSum) => a.n === b.n && a.sum === b.sum;

/**
 * Rows per differing row above which a range is listed instead of halved. Listing costs one read
 * of the range's rows on each side; halving costs two range reads per level for every differing
 * row, and with one row in 256 (or more) differing nearly every leaf would be read anyway.
 */
const DENSE = 256;
/** At least one row in DENSE differs, by count alone (a cheap lower bound on the differences). */
const dense = (a: RangeSum, b: RangeSum) => Math.abs(a.n - b.n) * DENSE >= Math.max(a.n, b.n);

/** Ids whose row differs between the two maps (missing on one side counts). */
export function differingIds(pg: RowHashes, ch: RowHashes): number[] {
  const out: number[] = [];
  for (const [id, h] of pg) if (ch.get(id) !== h) out.push(id);
  for (const id of ch.keys()) if (!pg.has(id)) out.push(id);
  return out.sort((a, b) => a - b);
}

/**
 * Compares one table chunk by chunk over the id span of both sides, one range at a time (the
 * load on PostgreSQL is one indexed range read at once). A chunk whose count or checksum differs
 * is halved until a range is at most `leafIds` wide (or empty on one side, or with so many rows
 * missing that halving would read every leaf anyway), whose rows are then compared id by id. ClickHouse is read before PostgreSQL, so a change that reaches ClickHouse
 * between the two reads was already in PostgreSQL: ClickHouse is never "ahead" by a race.
 */
export async function findDifferences(
  pg: PostgresSide,
  ch: ClickHouseSide,
  { chunkIds, leafIds, onChunk }: CompareOptions,
): Promise<{ ids: number[]; stats: CompareStats }> {
  const stats: CompareStats = { ranges: 0, rows: 0 };
  const chBounds = await ch.bounds();
  const pgBounds = await pg.bounds();
  if (!chBounds && !pgBounds) return { ids: [], stats };
  const lo = Math.min(chBounds?.lo ?? Number.POSITIVE_INFINITY, pgBounds?.lo ?? Number.POSITIVE_INFINITY);
  const hi = Math.max(chBounds?.hi ?? Number.NEGATIVE_INFINITY, pgBounds?.hi ?? Number.NEGATIVE_INFINITY) + 1;
  const ids: number[] = [];

  async function narrow(from: number, to: number, chSum: RangeSum, pgSum: RangeSum): Promise<void> {
    if (to - from <= leafIds || chSum.n === 0 || pgSum.n === 0 || dense(chSum, pgSum)) {
      const chRows = await ch.rows(from, to);
      const pgRows = await pg.rows(from, to);
      ids.push(...differingIds(pgRows, chRows));
      return;
    }
    const mid = from + Math.floor((to - from) / 2);
    for (const [a, b] of [
      [from, mid],
      [mid, to],
    ] as const) {
      const c = await ch.range(a, b);
      const p = await pg.range(a, b);
      stats.ranges++;
      if (!same(c, p)) await narrow(a, b, c, p);
    }
  }

  let from = lo;
  while (from < hi) {
    onChunk?.();
    const to = Math.min(from + chunkIds, hi);
    const c = await ch.range(from, to);
    const p = await pg.range(from, to);
    stats.ranges++;
    stats.rows += p.n;
    if (!same(c, p)) await narrow(from, to, c, p);
    from = to;
    if (c.n === 0 && p.n === 0) {
      // An empty span (ids need not be dense): continue at the next id either side holds.
      const nexts = [await ch.next(to), await pg.next(to)].filter((x): x is number => x !== null);
      if (nexts.length === 0) break;
      from = Math.min(...nexts);
    }
  }
  return { ids, stats };
}
