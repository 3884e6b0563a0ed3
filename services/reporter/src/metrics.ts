import type { LoadedEvent } from "@adpipe/shared/messages/loaded";
import {
  counter,
  FRESHNESS_BUCKETS,
  gauge,
  histogram,
  type Registry,
  SECOND_BUCKETS,
  secondsSince,
} from "@adpipe/shared/metrics";
import type { RebuildResult } from "./reporter.ts";

/** Prometheus figures of the report rebuilds, recorded from each rebuild's result. */
export function createReporterMetrics(registry: Registry) {
  const rebuilds = counter(registry, "adpipe_reporter_rebuilds_total", "Report rebuilds by reason and kind", [
    "reason",
    "kind",
  ]);
  const seconds = histogram(
    registry,
    "adpipe_reporter_rebuild_duration_seconds",
    "Duration of a report rebuild",
    SECOND_BUCKETS,
    ["kind"],
  );
  const events = counter(
    registry,
    "adpipe_reporter_loaded_events_total",
    "Loaded events applied to the reports",
  );
  const campaigns = counter(
    registry,
    "adpipe_reporter_campaigns_rebuilt_total",
    "Campaigns whose reports were rebuilt",
  );
  const last = gauge(
    registry,
    "adpipe_reporter_last_rebuild_timestamp_seconds",
    "When the reports last changed (Unix time)",
  );
  const freshness = histogram(
    registry,
    "adpipe_reporter_freshness_seconds",
    "From a change's commit in PostgreSQL (the oldest Adpipe-Committed-By of a loaded event's batches) to the rebuild that put it in the reports, per event",
    FRESHNESS_BUCKETS,
    ["table"],
  );
  return {
    /** The rebuild that reflects these events is written. */
    reported(events: LoadedEvent[]): void {
      const now = Date.now();
      for (const e of events)
        if (e.committedBy) freshness.observe({ table: e.table }, secondsSince(e.committedBy, now));
    },
    record(r: RebuildResult): void {
      const kind = r.full ? "full" : "incremental";
      rebuilds.inc({ reason: r.reason, kind });
      seconds.observe({ kind }, r.durationMs / 1000);
      events.inc(r.events);
      campaigns.inc(r.campaigns);
      last.set(Date.parse(r.finishedAt) / 1000);
    },
  };
}
