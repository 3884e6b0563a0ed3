import type { TableName } from "./contract.ts";

/**
 * The verifier's figures (docs/verifier.md): the body of `GET /verify` on the extractor, the
 * reply of `<ns>.verify.run`, and the payload of `<ns>.verify.completed`.
 */
export interface VerifyTableStatus {
  table: TableName;
  /** When this table was last verified to the end (ISO time), null before the first run. */
  verifiedAt: string | null;
  /** Id ranges compared in the last run (chunks plus the halves bisection looked at). */
  rangesChecked: number;
  /** Rows compared in the last run (PostgreSQL's count). */
  rowsChecked: number;
  /** Ids that differed in the last run and were still different when confirmed. */
  driftFound: number;
  /** Rows re-published in the last run (current versions plus tombstones). */
  rowsRepaired: number;
  /** True when the re-check after the repair found the table equal. */
  clean: boolean;
  /** A few of the differing ids, for the operator. */
  sampleIds: number[];
  error?: string;
}

export interface VerifyReportStatus {
  verifiedAt: string | null;
  /** (campaign, day) keys and campaigns compared. */
  keysChecked: number;
  /** Keys whose impressions or clicks differed from PostgreSQL's, confirmed. */
  driftFound: number;
  /** Campaigns whose report rows the reporter was asked to rebuild. */
  campaignsRebuilt: number;
  clean: boolean;
  error?: string;
}

export type VerifyPhase = "idle" | "checking" | "repairing";

export interface VerifyStatus {
  enabled: boolean;
  /** Why verification is off (no ClickHouse configured), when it is. */
  reason?: string;
  phase: VerifyPhase;
  /** While repairing: the table and how many rows (for the dashboard badge). */
  repairing?: { table: TableName; rows: number };
  /** The last run that finished with every table and the reports equal (ISO time). */
  exactAsOf: string | null;
  lastRun: { startedAt: string; finishedAt: string; durationMs: number; clean: boolean } | null;
  tables: VerifyTableStatus[];
  reports: VerifyReportStatus | null;
  runs: number;
}

/** Published (core NATS, not JetStream) on `<ns>.verify.completed` after every run. */
export interface VerifyCompletedEvent {
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Every table and the reports equal PostgreSQL at the end of the run (after repairs). */
  clean: boolean;
  tables: VerifyTableStatus[];
  reports: VerifyReportStatus | null;
}

/** Request on `<ns>.reports.rebuild` (answered by the reporter). */
export interface ReportsRebuildRequest {
  campaigns: number[];
  /** (campaign, day) keys whose daily rows to rebuild; `day` is YYYY-MM-DD. */
  days: { campaign_id: number; day: string }[];
}
