import type { PoolClient } from "@adpipe/shared/pg";

/**
 * The exclusive upper end of the window a snapshot can publish completely: the oldest
 * transaction still running in *this* database, or the snapshot's xmax when none is.
 *
 * Every xid below it is either finished (so its committed rows are visible in this snapshot and
 * no further rows can appear with it) or belongs to a transaction running in another database,
 * which cannot write to this database's tables. `pg_snapshot_xmin(pg_current_snapshot())` alone
 * would be correct too, but xids are cluster-wide: a long transaction in any other database on
 * the server would stall this pipeline for as long as it runs.
 *
 * An xid counts as foreign only when pg_locks shows a backend of another database holding it
 * (every transaction holds the lock on its own xid until it ends). One that finished between the
 * snapshot and this look-up, or a prepared transaction, proves nothing and is treated as ours:
 * the window stops before it, and the next cycle moves on.
 *
 * Must run inside the REPEATABLE READ transaction whose snapshot the window is read from.
 */
const WINDOW_END_SQL = `
SELECT coalesce(
  (SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
   WHERE NOT EXISTS (
     SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'transactionid' AND l.transactionid = x::xid
       AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))),
  pg_snapshot_xmax(pg_current_snapshot()))::text AS hi`;

export async function windowEnd(client: PoolClient): Promise<string> {
  const { rows } = await client.query<{ hi: string }>(WINDOW_END_SQL);
  const hi = rows[0]?.hi;
  if (!hi) throw new Error("PostgreSQL returned no snapshot bound");
  return hi;
}
