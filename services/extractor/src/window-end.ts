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
 * An in-progress xid counts as foreign only when pg_stat_activity shows it as the top-level xid
 * (`backend_xid`) of a backend connected to another database; xid and database are read from
 * the same backend entry. Anything else proves nothing and is treated as ours, which only ends
 * the window early: a transaction that finished since the snapshot, a prepared transaction, or a
 * session of another role when the extractor's role may not see other roles' activity (grant it
 * `pg_read_all_stats` to have those recognised).
 *
 * Must run inside the REPEATABLE READ transaction whose snapshot the window is read from.
 */
const WINDOW_END_SQL = `
SELECT coalesce(
  (SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
   WHERE NOT EXISTS (
     SELECT 1 FROM pg_stat_activity a
     WHERE a.backend_xid = x::xid
       AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))),
  pg_snapshot_xmax(pg_current_snapshot()))::text AS hi`;

export async function windowEnd(client: PoolClient): Promise<string> {
  const { rows } = await client.query<{ hi: string }>(WINDOW_END_SQL);
  const hi = rows[0]?.hi;
  if (!hi) throw new Error("PostgreSQL returned no snapshot bound");
  return hi;
}
