import { TABLES, type TableName } from "@adpipe/shared/contract";
import type { PoolClient } from "@adpipe/shared/pg";

// The advisory-lock key space is shared by everything on the database; this first key ("adpx")
// keeps the extractor's locks apart from the migrator's and anyone else's.
const LOCK_CLASS = 0x61647078;
const lockKey = (table: TableName) => TABLES.indexOf(table);

/**
 * Takes the table's extraction lock for this session if nobody holds it. Session-level (not
 * transaction-level) so it spans the read transaction and the watermark write after it; a crashed
 * extractor's session ends and PostgreSQL releases the lock with it.
 */
export async function tryLockTable(client: PoolClient, table: TableName): Promise<boolean> {
  const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS locked", [
    LOCK_CLASS,
    lockKey(table),
  ]);
  return rows[0]?.locked === true;
}

/** Waits for the table's lock (a resync waits for a running cycle instead of racing it). */
export async function lockTable(client: PoolClient, table: TableName): Promise<void> {
  await client.query("SELECT pg_advisory_lock($1, $2)", [LOCK_CLASS, lockKey(table)]);
}

export async function unlockTable(client: PoolClient, table: TableName): Promise<void> {
  await client.query("SELECT pg_advisory_unlock($1, $2)", [LOCK_CLASS, lockKey(table)]);
}
