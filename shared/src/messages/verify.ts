import { z } from "zod";
import { MAX_ID, TABLES } from "../contract.ts";
import { jsonCodec } from "./codec.ts";

/**
 * What a run compares (docs/verifier.md): `full` every id of every table; `incremental` only the
 * ids changed in PostgreSQL since the table's last verified run (a table never verified since the
 * process started, or truncated since, is compared in full).
 */
export const VERIFY_MODES = ["incremental", "full"] as const;
export const verifyModeSchema = z.enum(VERIFY_MODES);
export type VerifyMode = z.infer<typeof verifyModeSchema>;

/** Body of `POST /verify`: the mode (default `full`: on demand, an operator means everything). */
export const verifyRunRequestSchema = z.object({ mode: verifyModeSchema.optional() });

/** One table's figures from the verifier's last run (docs/verifier.md). */
export const verifyTableStatusSchema = z.object({
  table: z.enum(TABLES),
  /** When this table was last verified to the end (ISO time), null before the first run. */
  verifiedAt: z.string().nullable(),
  /** Id ranges compared in the last run (chunks plus the halves bisection looked at). */
  rangesChecked: z.number().int().min(0),
  /** Rows compared in the last run (PostgreSQL's count). */
  rowsChecked: z.number().int().min(0),
  /** Ids that differed in the last run and were still different when confirmed. */
  driftFound: z.number().int().min(0),
  /** Rows re-published in the last run (current versions plus tombstones). */
  rowsRepaired: z.number().int().min(0),
  /** True when the re-check after the repair found the table equal. */
  clean: z.boolean(),
  /** A few of the differing ids, for the operator. */
  sampleIds: z.array(z.number().int()),
  error: z.string().optional(),
  /** Why the table was not compared: `paused since <ISO time>` (an operator holds it, POST /pause). */
  skipped: z.string().optional(),
  /**
   * Columns PostgreSQL has that ClickHouse does not have yet (added since the table's last write,
   * which carries them): not compared in this run.
   */
  pendingColumns: z.array(z.string()).optional(),
  /** How this table was compared in the run (absent from runs before incremental verification). */
  mode: verifyModeSchema.optional(),
  /**
   * The PostgreSQL snapshot (`xmin:xmax:xip,...`) read before the table was compared: every change
   * by a transaction it sees is verified (but the ids left in flight); the next incremental run
   * compares the ids changed by transactions it does not see. Absent when the run did not end equal.
   */
  verifiedAsOf: z.string().optional(),
});

/** The reports' figures from the verifier's last run. */
export const verifyReportStatusSchema = z.object({
  verifiedAt: z.string().nullable(),
  /** (campaign, day) keys and campaigns compared. */
  keysChecked: z.number().int().min(0),
  /** Keys whose impressions or clicks differed from PostgreSQL's, confirmed. */
  driftFound: z.number().int().min(0),
  /** Campaigns whose report rows the reporter was asked to rebuild. */
  campaignsRebuilt: z.number().int().min(0),
  clean: z.boolean(),
  error: z.string().optional(),
  /** Why the reports were not compared: a fact table is paused, so they lag PostgreSQL on purpose. */
  skipped: z.string().optional(),
});

/** Published (core NATS, not JetStream) by the verifier on `<ns>.verify.completed` after every run. */
export const verifyCompletedEventSchema = z.object({
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number().min(0),
  /** What the run was asked to compare (a table's own `mode` says what it did). */
  mode: verifyModeSchema.optional(),
  /** Every table and the reports equal PostgreSQL at the end of the run (after repairs). */
  clean: z.boolean(),
  tables: z.array(verifyTableStatusSchema),
  reports: verifyReportStatusSchema.nullable(),
});
export type VerifyCompletedEvent = z.infer<typeof verifyCompletedEventSchema>;
export const verifyCompletedEvent = jsonCodec(verifyCompletedEventSchema);

const campaignId = z.number().int().min(1).max(MAX_ID);

/** Request on `<ns>.reports.rebuild` (sent by the verifier, answered by the reporter). */
export const reportsRebuildRequestSchema = z.object({
  campaigns: z.array(campaignId).max(10_000),
  /** (campaign, day) keys whose daily rows to rebuild; `day` is YYYY-MM-DD. */
  days: z
    .array(z.object({ campaign_id: campaignId, day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) }))
    .max(10_000)
    .default([]),
});
export type ReportsRebuildRequest = z.input<typeof reportsRebuildRequestSchema>;
export const reportsRebuildRequest = jsonCodec(reportsRebuildRequestSchema);
