import type { Pool, PoolClient } from "@adpipe/shared/pg";

/** How a large window is read in parallel (EXTRACT_SNAPSHOT_WORKERS, EXTRACT_SNAPSHOT_MIN_ROWS). */
export interface SnapshotSplit {
  /** Sessions reading one large window at once; 1: never split. */
  workers: number;
  /** A window PostgreSQL's planner estimates at this many rows or more is split. */
  minRows: number;
}

export interface SplitPlan {
  /** The exporting transaction's snapshot (`pg_export_snapshot()`), imported by every part. */
  snapshot: string;
  /** One `COPY ... TO STDOUT` per part, each a range of the table's blocks. */
  parts: string[];
}

/**
 * `workers` ranges of blocks [from, to) covering `blocks` blocks; the last one is open-ended
 * (to = null), so a block added after the count was taken is still read by some part.
 */
export function blockRanges(blocks: number, workers: number): [number, number | null][] {
  const n = Math.max(1, Math.min(workers, blocks));
  const size = Math.ceil(blocks / n);
  return Array.from({ length: n }, (_, i) => [i * size, i === n - 1 ? null : (i + 1) * size]);
}

const ctidRange = ([from, to]: [number, number | null]) =>
  `ctid >= '(${from},0)'::tid${to === null ? "" : ` AND ctid < '(${to},0)'::tid`}`;

/**
 * Decides, inside the cycle's REPEATABLE READ transaction on `client`, whether the window's row
 * read is split, and if so exports that transaction's snapshot. `select` is the window's
 * `SELECT ... WHERE <xid range>`. Each part adds a `ctid` range (a TID range scan reads only
 * its blocks), so the parts together read the table once. docs/extractor.md argues why this
 * reads exactly the rows the single read would.
 */
export async function planSplit(
  client: PoolClient,
  table: string,
  upsert: { select: string },
  split: SnapshotSplit | undefined,
): Promise<SplitPlan | undefined> {
  if (!split || split.workers < 2) return undefined;
  const explain = await client.query(`EXPLAIN (FORMAT JSON) ${upsert.select}`);
  const estimate = Number(explain.rows[0]?.["QUERY PLAN"]?.[0]?.Plan?.["Plan Rows"] ?? 0);
  if (estimate < split.minRows) return undefined;
  const { rows } = await client.query<{ blocks: string; snapshot: string }>(
    `SELECT pg_relation_size('${table}') / current_setting('block_size')::int AS blocks,
            pg_export_snapshot() AS snapshot`,
  );
  const blocks = Number(rows[0]?.blocks ?? 0);
  const snapshot = rows[0]?.snapshot ?? "";
  if (blocks < 2) return undefined;
  return {
    snapshot,
    parts: blockRanges(blocks, split.workers).map(
      (r) => `COPY (${upsert.select} AND ${ctidRange(r)}) TO STDOUT`,
    ),
  };
}

const SNAPSHOT_ID = /^[0-9A-F]+-[0-9A-F]+-[0-9]+$/i;

/**
 * Runs `fn` on a pooled session inside a read-only REPEATABLE READ transaction that imports
 * `snapshot`: it sees exactly what the exporting transaction sees. A failed session is
 * discarded, not returned to the pool (it may be mid-COPY).
 */
export async function withSnapshotSession(
  pool: Pool,
  snapshot: string,
  fn: (client: PoolClient) => Promise<void>,
): Promise<void> {
  if (!SNAPSHOT_ID.test(snapshot)) throw new Error(`invalid exported snapshot id ${snapshot}`);
  const client = await pool.connect();
  let broken: Error | undefined;
  const dropped = (err: Error) => {
    broken = err;
  };
  client.on("error", dropped);
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    await client.query(`SET TRANSACTION SNAPSHOT '${snapshot}'`);
    await fn(client);
    await client.query("COMMIT");
  } catch (err) {
    broken ??= err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client.release(broken);
    if (!broken) client.off("error", dropped);
  }
}
