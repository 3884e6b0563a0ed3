import {
  counter,
  gauge,
  histogram,
  type Registry,
  ROW_BUCKETS,
  SECOND_BUCKETS,
} from "@adpipe/shared/metrics";
import type { TableResult } from "./cycle.ts";

/** Prometheus figures of the extraction cycles, recorded from each table's cycle result. */
export function createExtractorMetrics(registry: Registry) {
  const rows = counter(registry, "adpipe_extractor_rows_total", "Rows published to JetStream", ["table"]);
  const batches = counter(registry, "adpipe_extractor_batches_total", "Delta batches published", ["table"]);
  const duplicates = counter(
    registry,
    "adpipe_extractor_duplicate_batches_total",
    "Batches JetStream had already stored (re-published after a crash)",
    ["table"],
  );
  const cycles = counter(registry, "adpipe_extractor_cycles_total", "Extraction cycles per table by status", [
    "table",
    "status",
  ]);
  const errors = counter(registry, "adpipe_extractor_errors_total", "Failed table cycles", ["table"]);
  const cycleSeconds = histogram(
    registry,
    "adpipe_extractor_cycle_duration_seconds",
    "Duration of one table's cycle",
    SECOND_BUCKETS,
    ["table"],
  );
  const cycleRows = histogram(
    registry,
    "adpipe_extractor_cycle_rows",
    "Rows published by one table's cycle",
    ROW_BUCKETS,
    ["table"],
  );
  const watermark = gauge(
    registry,
    "adpipe_extractor_watermark_xid",
    "Watermark (exclusive) per table, as a number",
    ["table"],
  );
  const lastAdvance = gauge(
    registry,
    "adpipe_extractor_last_advance_timestamp_seconds",
    "When a table's watermark last advanced (Unix time)",
    ["table"],
  );
  const blockedSeconds = gauge(
    registry,
    "adpipe_extractor_blocked_seconds",
    "Age of the open transaction holding every table's window back (0 when none is older than EXTRACT_BLOCKER_AFTER_MS)",
  );
  const pausedSince = gauge(
    registry,
    "adpipe_extractor_paused_since_timestamp_seconds",
    "Since when an operator holds the table (POST /pause; Unix time); 0 while it flows",
    ["table"],
  );
  return {
    blocked(seconds: number): void {
      blockedSeconds.set(seconds);
    },
    paused(table: string, since: string | null): void {
      pausedSince.set({ table }, since ? Date.parse(since) / 1000 : 0);
    },
    record(results: TableResult[]): void {
      const now = Date.now() / 1000;
      for (const r of results) {
        const labels = { table: r.table };
        cycles.inc({ table: r.table, status: r.status });
        cycleSeconds.observe(labels, r.durationMs / 1000);
        if (r.status === "failed") {
          errors.inc(labels);
          continue;
        }
        if (r.status === "skipped") continue;
        pausedSince.set(labels, r.pausedSince ? Date.parse(r.pausedSince) / 1000 : 0);
        if (r.status === "paused") continue;
        rows.inc(labels, r.rows);
        batches.inc(labels, r.batches);
        duplicates.inc(labels, r.duplicates);
        cycleRows.observe(labels, r.rows);
        watermark.set(labels, Number(r.to));
        lastAdvance.set(labels, now);
      }
    },
  };
}

export type ExtractorMetrics = ReturnType<typeof createExtractorMetrics>;
