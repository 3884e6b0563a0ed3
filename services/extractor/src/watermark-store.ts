import { TABLES, type TableName } from "@adpipe/shared/contract";
import type { Pool, PoolClient } from "@adpipe/shared/pg";

type Queryable = Pick<Pool, "query"> | Pick<PoolClient, "query">;

export interface Watermark {
  table: TableName;
  /** Every change with a smaller transaction id has been published and acknowledged (decimal xid8). */
  xid: string;
  /** Upper end of a window being published and not yet confirmed, else null. */
  pendingXid: string | null;
  updatedAt: string | null;
  /** Since when an operator holds the table (POST /pause); null while it flows. */
  pausedSince: string | null;
}

/**
 * Durable extraction positions in `adpipe_watermark`. Writes happen only while the caller holds
 * the table's lock, so nothing here needs to guard against a concurrent writer.
 */
export function createWatermarkStore(pool: Pool) {
  async function read(db: Queryable, table: TableName): Promise<Watermark> {
    const { rows } = await db.query<{
      xid: string;
      pending_xid: string | null;
      updated_at: Date;
      paused_at: Date | null;
    }>(
      "SELECT xid::text AS xid, pending_xid::text AS pending_xid, updated_at, paused_at FROM adpipe_watermark WHERE table_name = $1",
      [table],
    );
    const row = rows[0];
    return {
      table,
      xid: row?.xid ?? "0",
      pendingXid: row?.pending_xid ?? null,
      updatedAt: row ? row.updated_at.toISOString() : null,
      pausedSince: row?.paused_at ? row.paused_at.toISOString() : null,
    };
  }

  // Written without waiting for the WAL flush (synchronous_commit off for this one statement's
  // transaction): a watermark lost in a PostgreSQL crash only moves back, and moving back means
  // re-publishing, which is safe. It takes an fsync off every cycle of every table.
  async function write(db: Queryable, table: TableName, xid: string, pendingXid: string | null) {
    await db.query(
      `INSERT INTO adpipe_watermark (table_name, xid, pending_xid, updated_at)
       SELECT $1, $2::xid8, $3::xid8, now() FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
       ON CONFLICT (table_name) DO UPDATE
       SET xid = EXCLUDED.xid, pending_xid = EXCLUDED.pending_xid, updated_at = EXCLUDED.updated_at`,
      [table, xid, pendingXid],
    );
  }

  return {
    read: (table: TableName, db: Queryable = pool) => read(db, table),
    readAll: (db: Queryable = pool) => Promise.all(TABLES.map((t) => read(db, t))),
    /** Records the window about to be published, so a restart re-reads exactly this window. */
    setPending: (table: TableName, from: string, to: string, db: Queryable = pool) =>
      write(db, table, from, to),
    /** The window is acknowledged: everything below `to` is published. */
    advance: (table: TableName, to: string, db: Queryable = pool) => write(db, table, to, null),
    /** Starts the table over from the beginning (loads are idempotent by version). */
    reset: (table: TableName, db: Queryable = pool) => write(db, table, "0", null),
    /** Holds the table (idempotent: an earlier pause keeps its time); the watermark is untouched. */
    pause: async (table: TableName, db: Queryable = pool) => {
      await db.query(
        `INSERT INTO adpipe_watermark (table_name, paused_at) VALUES ($1, now())
         ON CONFLICT (table_name) DO UPDATE SET paused_at = coalesce(adpipe_watermark.paused_at, now())`,
        [table],
      );
    },
    /** Lets the table flow again from its watermark. */
    resume: async (table: TableName, db: Queryable = pool) => {
      await db.query("UPDATE adpipe_watermark SET paused_at = NULL WHERE table_name = $1", [table]);
    },
    /** The tables held now, with since when (the verifier skips them). */
    paused: async (db: Queryable = pool): Promise<Map<TableName, string>> => {
      const { rows } = await db.query<{ table_name: TableName; paused_at: Date }>(
        "SELECT table_name, paused_at FROM adpipe_watermark WHERE paused_at IS NOT NULL",
      );
      return new Map(rows.map((r) => [r.table_name, r.paused_at.toISOString()]));
    },
  };
}

export type WatermarkStore = ReturnType<typeof createWatermarkStore>;
