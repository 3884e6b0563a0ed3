/**
 * The integration contract between adpipe's services (and anyone subscribing from outside):
 * subjects, stream and consumer names and delta message headers; each message's codec (encode for
 * the producer, decode for the consumer) lives in shared/src/messages/.
 * `docs/events.md` documents it with examples; change both together and bump SCHEMA_VERSION
 * when a consumer would have to change.
 */

/**
 * The replicated PostgreSQL tables. `campaign_bids` (every bid a campaign had, written by
 * PostgreSQL's triggers) is last: the extractor's advisory lock key is a table's position here.
 */
export const TABLES = ["advertiser", "campaign", "impressions", "clicks", "campaign_bids"] as const;
export type TableName = (typeof TABLES)[number];
export const isTableName = (value: string): value is TableName =>
  (TABLES as readonly string[]).includes(value);
/**
 * Ids (every table's `id`, `campaign_id`, `advertiser_id`) are 64-bit: `bigint` in PostgreSQL
 * (migration 0012), `Int64` in ClickHouse (migration 0011). In deltas they travel as COPY's text,
 * which no service parses; where a service holds an id as a JS number (API parameters, touched
 * keys, the verifier's ranges, JSON rows read with integers unquoted) it is exact up to 2^53 - 1,
 * the largest id adpipe accepts there (57,000 years of ids at 5,000 rows a second).
 */
export const MAX_ID = Number.MAX_SAFE_INTEGER;

/** The fact tables: rows with a campaign and a time, counted by the reports. */
export const FACT_TABLES = ["impressions", "clicks"] as const;
export type FactTable = (typeof FACT_TABLES)[number];
export const isFactTable = (table: TableName): table is FactTable =>
  (FACT_TABLES as readonly string[]).includes(table);

/** Version of the delta message layout (headers and column lists). */
export const SCHEMA_VERSION = 1;

/**
 * What a delta batch carries:
 * - `upsert`: current row versions (inserted or updated), columns UPSERT_COLUMNS[table];
 * - `delete`: tombstones for deleted rows, columns DELETE_COLUMNS[table] (`_deleted` = 1);
 * - `truncate`: `table_name, _version, _xid`: every row of the table with a smaller version is gone.
 * `_xid` is the PostgreSQL transaction that wrote the change: a batch holds exactly the changes
 * with `Adpipe-Watermark-From <= _xid < Adpipe-Watermark-To`, which is how the reporter finds
 * the rows a loaded batch touched.
 */
export const DELTA_KINDS = ["upsert", "delete", "truncate"] as const;
export type DeltaKind = (typeof DELTA_KINDS)[number];

/** The one input format deltas travel in: exactly what PostgreSQL's `COPY ... TO STDOUT` (text) writes. */
export const DELTA_FORMAT = "TabSeparated";

export const UPSERT_COLUMNS: Record<TableName, readonly string[]> = {
  advertiser: ["id", "name", "updated_at", "created_at", "_version", "_xid"],
  campaign: [
    "id",
    "name",
    "bid",
    "budget",
    "start_date",
    "end_date",
    "advertiser_id",
    "updated_at",
    "created_at",
    "_version",
    "_xid",
  ],
  impressions: ["id", "campaign_id", "created_at", "_version", "_xid"],
  clicks: ["id", "campaign_id", "created_at", "_version", "_xid"],
  campaign_bids: ["id", "campaign_id", "bid", "valid_from", "_version", "_xid"],
};
/** A tombstone's columns before PostgreSQL migration 0008, still valid for every table. */
export const BARE_DELETE_COLUMNS = ["id", "_version", "_xid", "_deleted"] as const;
/**
 * What the extractor writes for a tombstone: an impression or click also carries the campaign_id
 * and created_at of the version it removes (the (campaign, day) the fact leaves; `\N` when
 * PostgreSQL recorded none, as for deletes before its migration 0008). A consumer accepts these
 * or BARE_DELETE_COLUMNS: batches published before the change carry the bare ones.
 */
const FACT_DELETE_COLUMNS = ["id", "campaign_id", "created_at", "_version", "_xid", "_deleted"] as const;
export const DELETE_COLUMNS: Record<TableName, readonly string[]> = {
  advertiser: BARE_DELETE_COLUMNS,
  campaign: BARE_DELETE_COLUMNS,
  impressions: FACT_DELETE_COLUMNS,
  clicks: FACT_DELETE_COLUMNS,
  campaign_bids: BARE_DELETE_COLUMNS,
};
export const TRUNCATE_COLUMNS = ["table_name", "_version", "_xid"] as const;

/** The ClickHouse table a delta batch is inserted into. */
export const TRUNCATIONS_TABLE = "truncations";
export const targetTable = (table: TableName, kind: DeltaKind): string =>
  kind === "truncate" ? TRUNCATIONS_TABLE : table;

/** Header names on every delta message (NATS headers are case-sensitive as written here). */
export const HEADERS = {
  table: "Adpipe-Table",
  kind: "Adpipe-Kind",
  batchId: "Adpipe-Batch-Id",
  format: "Adpipe-Format",
  columns: "Adpipe-Columns",
  rows: "Adpipe-Rows",
  watermarkFrom: "Adpipe-Watermark-From",
  watermarkTo: "Adpipe-Watermark-To",
  schemaVersion: "Adpipe-Schema-Version",
  /**
   * When the extractor's snapshot read the window (ISO-8601, UTC): every change in the batch had
   * committed by then. Optional (batches published before it have none); freshness is measured
   * from it.
   */
  committedBy: "Adpipe-Committed-By",
  /**
   * On upserts: the table's columns as PostgreSQL's catalog has them (JSON: fingerprint and
   * columns with name, type, nullable, default); absent on batches published before it existed.
   */
  schema: "Adpipe-Schema",
  msgId: "Nats-Msg-Id",
} as const;

/** Subjects, all under one namespace (ADPIPE_NAMESPACE) so pipelines can share a NATS server. */
export function subjects(ns: string) {
  return {
    delta: (table: TableName) => `${ns}.delta.${table}`,
    deltaAll: `${ns}.delta.>`,
    loaded: (table: TableName) => `${ns}.loaded.${table}`,
    loadedAll: `${ns}.loaded.>`,
    dlq: (table: string) => `${ns}.dlq.${table}`,
    dlqAll: `${ns}.dlq.>`,
    /** Loaded events the reporter set aside (it rebuilds fully instead); in the same DLQ stream. */
    reporterDlq: (table: string) => `${ns}.dlq.reporter.${table}`,
    reportsUpdated: `${ns}.reports.updated`,
    /** Core NATS event: the loader changed a ClickHouse table to follow PostgreSQL (docs/schema-changes.md). */
    schemaChanged: (table: TableName) => `${ns}.schema.${table}`,
    schemaChangedAll: `${ns}.schema.>`,
    extractRun: `${ns}.extract.run`,
    /** Request: run a verification now (docs/verifier.md). */
    verifyRun: `${ns}.verify.run`,
    /** Core NATS event after every verification (payload: VerifyCompletedEvent in shared/verify). */
    verifyCompleted: `${ns}.verify.completed`,
    /** Request to the reporter: rebuild the report rows of these campaigns and days. */
    reportsRebuild: `${ns}.reports.rebuild`,
    /** Request to the extractor: hold one table (`{"table"}`), its watermark kept (docs/operations.md). */
    extractPause: `${ns}.extract.pause`,
    /** Request to the extractor: let a held table flow again from its watermark. */
    extractResume: `${ns}.extract.resume`,
    /** Request/reply: the extractor republishes a dead letter (not under `dlq.>`, which the DLQ stream holds). */
    deadLettersReplay: `${ns}.deadletters.replay`,
  };
}

/** JetStream stream and durable consumer names (no dots allowed there). */
export function streams(ns: string) {
  return {
    /** File storage; holds `<ns>.delta.>`. */
    delta: `${ns}_delta`,
    /** File storage; holds `<ns>.dlq.>`. */
    dlq: `${ns}_dlq`,
    /** File storage; holds `<ns>.loaded.>` and `<ns>.reports.updated`. */
    events: `${ns}_events`,
    /** One durable pull consumer per table, shared by every loader instance as a work queue. */
    loaderConsumer: (table: TableName) => `${ns}_loader_${table}`,
    /** The reporter's durable pull consumer on the events stream, filtered to `<ns>.loaded.>`. */
    reporterConsumer: `${ns}_reporter`,
    /** The NATS KV bucket holding which reporter is active (its stream is `KV_<bucket>`). */
    reporterLease: `${ns}_reporter_lease`,
  };
}

// The event payloads (LoadedEvent, ReportsUpdatedEvent, the verifier's) are defined with their
// codecs in shared/src/messages/, one module per message kind.

/** Request on `<ns>.extract.run` (and body of `POST /extract`): no table means every table. */
export interface ExtractRunRequest {
  table?: TableName;
}

/** What one table did in an extraction cycle. */
export interface ExtractTableResult {
  table: TableName;
  /**
   * published: batches sent and acknowledged, watermark advanced to `to`; idle: nothing changed in
   * the window (watermark advanced); skipped: another extractor holds the table this cycle;
   * paused: an operator holds the table (POST /pause), nothing read, the watermark stays;
   * failed: nothing advanced, the window is retried.
   */
  status: "published" | "idle" | "skipped" | "paused" | "failed";
  /** With `paused`: since when (ISO time). */
  pausedSince?: string;
  /** The window `[from, to)` of transaction ids, as decimal xid8. */
  from: string;
  to: string;
  batches: number;
  rows: number;
  /** Batches JetStream had already stored (same `Nats-Msg-Id` within its duplicate window). */
  duplicates: number;
  durationMs: number;
  error?: string;
}

/**
 * Reply on `<ns>.extract.run` (and body of `POST /extract`): the per-table results, with `error`
 * beside them when a table failed; only `error` when the request itself was invalid.
 */
export type ExtractRunReply =
  | { results: ExtractTableResult[]; error?: { code: string; message: string } }
  | { error: { code: string; message: string } };
