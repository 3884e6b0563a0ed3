import { TABLES, type TableName as Table } from "@adpipe/shared/contract";
import type { Answer } from "./upstream.ts";

/** The generator's `/stats` names its counts in the plural. */
const PG_COUNT_KEY: Record<Table, string> = {
  advertiser: "advertisers",
  campaign: "campaigns",
  impressions: "impressions",
  clicks: "clicks",
  campaign_bids: "campaign_bids",
};

interface Watermark {
  table: string;
  xid: string;
  pendingXid: string | null;
  updatedAt: string;
  /** Since when an operator holds the table (extractor POST /pause); absent from older extractors. */
  pausedSince?: string | null;
}
interface LoaderTable {
  pending?: number;
  unacknowledged?: number;
  rowsLoaded?: number;
  batchesLoaded?: number;
  deadLettered?: number;
  errors?: Record<string, number>;
  lastBatch?: { batches: number; rows: number; watermark: string; loadedAt: string } | null;
  /** The table consumer's watchdog (loader /status): stalled since when, recoveries so far. */
  consumer?: { stalled_since: string | null; stall_recoveries: number } | null;
  /** The newest batch's freshness (commit → ClickHouse), from the loader's /status. */
  freshness?: { committedBy: string; seconds: number; at: string } | null;
  /** Set while the table waits for a type change ClickHouse cannot take (docs/schema-changes.md). */
  schema_blocked?: { since: string; message: string } | null;
}

/** One schema event of the loader's /status (`schema_changes`, newest first). */
export interface SchemaChange {
  table: string;
  change: string;
  column: string;
  pgType: string;
  from?: string;
  to: string;
  message?: string;
  at: string;
}

export interface PipelineInputs {
  now: Date;
  stats: Answer<Record<string, unknown>>;
  watermarks: Answer<{ watermarks: Watermark[] }>;
  loaderStatus: Answer<{ tables: Record<string, LoaderTable>; schema_changes?: SchemaChange[] }>;
  chCounts: { ok: true; counts: Record<string, number> } | { ok: false; error: string };
}

/**
 * One row per table from what each service said (pure, so the arithmetic is tested without
 * servers). A number a service did not give is null: the page shows "–", not a stale 0.
 * `lag_seconds` is the age of the extractor's watermark, which it advances every cycle, as in
 * `bun start`'s status line; `rows_behind` is PostgreSQL's count minus ClickHouse's.
 */
export function tableRows({ now, stats, watermarks, loaderStatus, chCounts }: PipelineInputs) {
  return TABLES.map((table) => {
    const wm = watermarks.ok ? watermarks.body.watermarks.find((w) => w.table === table) : undefined;
    const lt = loaderStatus.ok ? loaderStatus.body.tables[table] : undefined;
    const pgRaw = stats.ok ? stats.body[PG_COUNT_KEY[table]] : undefined;
    const pgRows = typeof pgRaw === "number" ? pgRaw : null;
    const chRows = chCounts.ok ? (chCounts.counts[table] ?? null) : null;
    // A paused table's watermark stands still on purpose: its row says since when instead of a lag.
    const pausedSince = wm?.pausedSince ?? null;
    const lag = wm && !pausedSince ? Math.max(0, (now.getTime() - Date.parse(wm.updatedAt)) / 1000) : null;
    const errors = lt?.errors ? Object.values(lt.errors).reduce((a, b) => a + b, 0) : null;
    return {
      table,
      watermark: wm?.xid ?? null,
      watermark_updated_at: wm?.updatedAt ?? null,
      pending: lt ? (lt.pending ?? 0) + (lt.unacknowledged ?? 0) : null,
      rows_loaded: lt?.rowsLoaded ?? null,
      dead_lettered: lt?.deadLettered ?? null,
      errors,
      last_batch: lt?.lastBatch ?? null,
      // Receiving nothing while batches wait (the loader is recreating its pull): shown on the row.
      stalled_since: lt?.consumer?.stalled_since ?? null,
      stall_recoveries: lt?.consumer?.stall_recoveries ?? null,
      pg_rows: pgRows,
      ch_rows: chRows,
      rows_behind: pgRows !== null && chRows !== null ? pgRows - chRows : null,
      lag_seconds: lag === null ? null : Math.round(lag * 10) / 10,
      paused_since: pausedSince,
      freshness_seconds: lt?.freshness ? Math.round(lt.freshness.seconds * 1000) / 1000 : null,
      schema_blocked: lt?.schema_blocked ?? null,
    };
  });
}

/** The loader's latest schema changes (an older loader has none: an empty list). */
export const schemaChanges = (loaderStatus: PipelineInputs["loaderStatus"]): SchemaChange[] =>
  loaderStatus.ok ? (loaderStatus.body.schema_changes ?? []) : [];
