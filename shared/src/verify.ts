import type { z } from "zod";
import type { TableName } from "./contract.ts";
import type { verifyReportStatusSchema, verifyTableStatusSchema } from "./messages/verify.ts";

/**
 * The verifier's figures (docs/verifier.md): the body of `GET /verify` on the extractor and the
 * reply of `<ns>.verify.run`. The per-table and report figures, the `<ns>.verify.completed` event
 * and the `<ns>.reports.rebuild` request are messages, with their codecs in messages/verify.ts.
 */
export type VerifyTableStatus = z.infer<typeof verifyTableStatusSchema>;
export type VerifyReportStatus = z.infer<typeof verifyReportStatusSchema>;
export type { ReportsRebuildRequest, VerifyCompletedEvent, VerifyMode } from "./messages/verify.ts";

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
