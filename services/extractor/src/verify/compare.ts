import { MAX_ID } from "@adpipe/shared/contract";
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
 * is halved until a range is at most `leafIds` wide (or empty on one side), whose rows are then
 * compared id by id. ClickHouse is read before PostgreSQL, so a change that reaches ClickHouse
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

  async function narrow(from: number, to: number, chSum: RangeSum, pgSum: RangeSum): Promise<void> {
    if (to - from <= leafIds || chSum.n === 0 || pgSum.n === 0) {
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
