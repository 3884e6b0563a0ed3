import { sql } from "drizzle-orm";
import { bigint, customType, index, pgSequence, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** PostgreSQL's 64-bit, never-wrapping transaction id (PostgreSQL 13+). */
export const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => "xid8" });

/**
 * One sequence orders every change of every tracked table. An UPDATE takes its number in a
 * BEFORE trigger, after it holds the row lock, so a row's versions grow in commit order even when
 * the transactions' ids do not.
 */
export const versionSeq = pgSequence("adpipe_version_seq", { cache: 1 });

/** Columns every tracked table carries: the row version and the transaction that wrote it. */
export const trackingColumns = () => ({
  version: bigint("_version", { mode: "bigint" }).notNull().default(sql`nextval('adpipe_version_seq')`),
  xid: xid8("_xid").notNull().default(sql`pg_current_xact_id()`),
});

/**
 * Deletes and truncates of tracked tables, written by triggers. `row_id` is null for a TRUNCATE,
 * which removes every row of `table_name` with a smaller version. For an impression or click,
 * `campaign_id` and `created_at` are those of the version that was deleted (or moved away), so
 * its tombstone names the (campaign, day) it leaves; null for the other tables, for a truncate,
 * and for deletes recorded before migration 0008.
 */
export const deletion = pgTable(
  "adpipe_deletion",
  {
    tableName: text("table_name").notNull(),
    rowId: bigint("row_id", { mode: "number" }),
    campaignId: bigint("campaign_id", { mode: "number" }),
    createdAt: timestamp("created_at", { mode: "string" }),
    ...trackingColumns(),
  },
  (t) => [index("adpipe_deletion_xid_idx").on(t.xid)],
);

/** The extractor's durable position per table: every change with a smaller transaction id is published. */
export const watermark = pgTable("adpipe_watermark", {
  tableName: text("table_name").primaryKey(),
  xid: xid8("xid").notNull().default(sql`'0'::xid8`),
  /**
   * Upper end of a window whose publishing began but was not confirmed yet. A restarted cycle
   * re-reads exactly this window, so unchanged batches get the same message ids and JetStream
   * drops them as duplicates.
   */
  pendingXid: xid8("pending_xid"),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "string" }).notNull().defaultNow(),
  /**
   * Set while an operator holds the table (POST /pause): cycles skip it, its watermark stays, its
   * changes wait in PostgreSQL until POST /resume clears it. Here, beside the watermark, so every
   * extractor instance sees it, and it is read under the table's lock with the watermark itself.
   */
  pausedAt: timestamp("paused_at", { withTimezone: true, mode: "string" }),
});
