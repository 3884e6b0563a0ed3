import { MAX_ID } from "@adpipe/shared/contract";
import type { ClickHouseSide, PostgresSide, RangeSum } from "./sides.ts";

export interface CompareStats {
  ranges: number;
  rows: number;
}

export interface CompareOptions {
  chunkIds: number;
  leafIds: number;
  /** Chunks compared at once (each one PostgreSQL and one ClickHouse statement at a time). */
  concurrency?: number;
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

/**
 * Reads a range on both sides, and narrows a differing one (halving, then listing a leaf), adding
 * the differing ids to `ids` and the halves read to `stats`.
 */
function bisector(pg: PostgresSide, ch: ClickHouseSide, leafIds: number, ids: number[], stats: CompareStats) {
  const both = (a: number, b: number) => Promise.all([ch.range(a, b), pg.range(a, b)]);
  async function narrow(from: number, to: number, chSum: RangeSum, pgSum: RangeSum): Promise<void> {
    if (to - from <= leafIds || chSum.n === 0 || pgSum.n === 0 || dense(chSum, pgSum)) {
      // ClickHouse lists its rows' hashes, PostgreSQL compares them with its own and returns only
      // the ids that differ (listing PostgreSQL's side too cost several times its checksum).
      ids.push(...(await pg.differing(from, to, await ch.rows(from, to))));
      return;
    }
    const mid = from + Math.floor((to - from) / 2);
    for (const [a, b] of [
      [from, mid],
      [mid, to],
    ] as const) {
      const [c, p] = await both(a, b);
      stats.ranges++;
      if (!same(c, p)) await narrow(a, b, c, p);
    }
  }
  return { both, narrow };
}

/**
 * Compares the given id ranges `[lo, hi)` (an incremental run's, docs/verifier.md) as the full
 * pass compares its chunks: count and checksum on both sides, bisection where they differ,
 * `concurrency` ranges at a time.
 */
export async function compareSpans(
  pg: PostgresSide,
  ch: ClickHouseSide,
  spans: readonly (readonly [number, number])[],
  { leafIds, concurrency = 1, onChunk }: Omit<CompareOptions, "chunkIds">,
): Promise<{ ids: number[]; stats: CompareStats }> {
  const stats: CompareStats = { ranges: 0, rows: 0 };
  const ids: number[] = [];
  const { both, narrow } = bisector(pg, ch, leafIds, ids, stats);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < spans.length) {
      onChunk?.();
      const [from, to] = spans[next++] as readonly [number, number];
      const [c, p] = await both(from, to);
      stats.ranges++;
      stats.rows += p.n;
      if (!same(c, p)) await narrow(from, to, c, p);
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return { ids: ids.sort((a, b) => a - b), stats };
}

/**
 * Compares one table chunk by chunk over the id span of both sides, `concurrency` chunks at a
 * time (the load on PostgreSQL: at most that many indexed range reads at once), each chunk read
 * on both sides at once. A chunk whose count or checksum differs is halved until a range is at
 * most `leafIds` wide (or empty on one side, or with so many rows missing that halving would read
 * every leaf anyway), whose rows are then compared id by id. The two sides of a range are read at
 * the same time, so a change landing between them can make a range differ for a moment: these
 * are candidates only, confirmed by planRepair, which reads ClickHouse first, then PostgreSQL.
 */
export async function findDifferences(
  pg: PostgresSide,
  ch: ClickHouseSide,
  { chunkIds, leafIds, concurrency = 1, onChunk }: CompareOptions,
): Promise<{ ids: number[]; stats: CompareStats }> {
  const stats: CompareStats = { ranges: 0, rows: 0 };
  const [chBounds, pgBounds] = await Promise.all([ch.bounds(), pg.bounds()]);
  if (!chBounds && !pgBounds) return { ids: [], stats };
  // Ids are compared as JS numbers, exact up to MAX_ID (2^53 - 1): past it two ids could read as
  // one, so the table is reported as an error rather than compared wrongly.
  if (
    Math.max(chBounds?.hi ?? 0, pgBounds?.hi ?? 0) > MAX_ID ||
    Math.min(chBounds?.lo ?? 0, pgBounds?.lo ?? 0) < -MAX_ID
  )
    throw new Error(`ids beyond ±${MAX_ID} (2^53 - 1) cannot be verified exactly`);
  const lo = Math.min(chBounds?.lo ?? Number.POSITIVE_INFINITY, pgBounds?.lo ?? Number.POSITIVE_INFINITY);
  const hi = Math.max(chBounds?.hi ?? Number.NEGATIVE_INFINITY, pgBounds?.hi ?? Number.NEGATIVE_INFINITY) + 1;
  const ids: number[] = [];
  const { both, narrow } = bisector(pg, ch, leafIds, ids, stats);

  // Chunks are handed out in id order from one cursor; an empty chunk moves the cursor on to the
  // next id either side holds (ids need not be dense), past chunks nobody needs to read.
  let cursor = lo;
  async function worker(): Promise<void> {
    while (cursor < hi) {
      onChunk?.();
      const from = cursor;
      const to = Math.min(from + chunkIds, hi);
      cursor = to;
      const [c, p] = await both(from, to);
      stats.ranges++;
      stats.rows += p.n;
      if (!same(c, p)) await narrow(from, to, c, p);
      if (c.n === 0 && p.n === 0) {
        const nexts = (await Promise.all([ch.next(to), pg.next(to)])).filter((x): x is number => x !== null);
        cursor = Math.max(cursor, nexts.length === 0 ? hi : Math.min(...nexts));
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return { ids: ids.sort((a, b) => a - b), stats };
}
