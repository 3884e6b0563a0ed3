import { TABLES } from "@adpipe/shared/contract";
import { counter, gauge, histogram, type Registry, SECOND_BUCKETS } from "@adpipe/shared/metrics";
import type { VerifyCompletedEvent } from "@adpipe/shared/verify";
import { partial } from "./verifier.ts";

/** Prometheus figures of the verifier (docs/verifier.md). */
export function createVerifyMetrics(registry: Registry, intervalMs = 0) {
  const runs = counter(registry, "adpipe_verify_runs_total", "Verifications by outcome", ["outcome"]);
  const drift = counter(
    registry,
    "adpipe_verify_drift_rows_total",
    "Rows (or report keys) found different from PostgreSQL",
    ["table"],
  );
  const repaired = counter(
    registry,
    "adpipe_verify_repaired_rows_total",
    "Rows re-published (or report campaigns rebuilt) by the verifier",
    ["table"],
  );
  // Every series from 0: increase() over a window then sees the first drift too.
  for (const table of [...TABLES, "reports"]) drift.inc({ table }, 0);
  const ranges = counter(registry, "adpipe_verify_ranges_total", "Id ranges compared", ["table"]);
  const rows = counter(registry, "adpipe_verify_rows_checked_total", "Rows compared", ["table"]);
  const duration = histogram(
    registry,
    "adpipe_verify_duration_seconds",
    "Duration of a verification",
    SECOND_BUCKETS,
  );
  const exactAt = gauge(
    registry,
    "adpipe_verify_exact_timestamp_seconds",
    "When a verification last found everything equal (Unix time)",
  );
  const lastRun = gauge(
    registry,
    "adpipe_verify_last_run_timestamp_seconds",
    "When the last verification finished, whatever it found (Unix time); the process's start until the first",
  );
  lastRun.set(Date.now() / 1000);
  gauge(
    registry,
    "adpipe_verify_interval_seconds",
    "VERIFY_INTERVAL_MS in seconds: how often verifications run (0: only on demand)",
  ).set(intervalMs / 1000);
  return {
    record(e: VerifyCompletedEvent): void {
      runs.inc({ outcome: e.clean ? "clean" : "drift" });
      duration.observe(e.durationMs / 1000);
      lastRun.set(Date.parse(e.finishedAt) / 1000);
      if (e.clean && !partial(e)) exactAt.set(Date.parse(e.finishedAt) / 1000);
      for (const t of e.tables) {
        const labels = { table: t.table };
        drift.inc(labels, t.driftFound);
        repaired.inc(labels, t.rowsRepaired);
        ranges.inc(labels, t.rangesChecked);
        rows.inc(labels, t.rowsChecked);
      }
      if (e.reports) {
        drift.inc({ table: "reports" }, e.reports.driftFound);
        repaired.inc({ table: "reports" }, e.reports.campaignsRebuilt);
      }
    },
  };
}

export type VerifyMetrics = ReturnType<typeof createVerifyMetrics>;
