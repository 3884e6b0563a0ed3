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

/** What the reporter's /reports/status says, as far as the gauges below need it. */
export interface ReporterProgress {
  events: { pending: number; unacknowledged: number } | null;
  progress: Partial<Record<string, { unreported_batches: number; lag_seconds: number }>> | null;
}

/** Prometheus figures of the report rebuilds, recorded from each rebuild's result. */
export function createReporterMetrics(
  registry: Registry,
  status?: () => Promise<ReporterProgress>,
  /** With several reporters: whether this one holds the lease now (absent: always active). */
  active?: () => boolean,
) {
  // One read of the reporter's status per scrape, shared by the gauges below.
  let scrape: Promise<ReporterProgress | null> | undefined;
  const read = () => {
    scrape ??= (status?.() ?? Promise.resolve(null))
      .catch(() => null)
      .finally(() => {
        setTimeout(() => {
          scrape = undefined;
        }, 1000);
      });
    return scrape;
  };
  gauge(
    registry,
    "adpipe_reporter_unreported_seconds",
    "Age of the oldest batch loaded into ClickHouse (loaded_batches) that no rebuild reported yet (reported_batches); 0 when none",
    ["table"],
    async function collect() {
      const s = await read();
      for (const [table, p] of Object.entries(s?.progress ?? {})) if (p) this.set({ table }, p.lag_seconds);
    },
  );
  gauge(
    registry,
    "adpipe_reporter_unreported_batches",
    "Batches loaded into ClickHouse that no rebuild reported yet",
    ["table"],
    async function collect() {
      const s = await read();
      for (const [table, p] of Object.entries(s?.progress ?? {}))
        if (p) this.set({ table }, p.unreported_batches);
    },
  );
  gauge(
    registry,
    "adpipe_reporter_events_pending",
    "Loaded events waiting on the reporter's durable consumer (not yet delivered, or delivered and not acknowledged)",
    [],
    async function collect() {
      const s = await read();
      if (s?.events) this.set(s.events.pending + s.events.unacknowledged);
    },
  );
  gauge(
    registry,
    "adpipe_reporter_active",
    "1 while this reporter is the namespace's active one (holds the lease), 0 while it is a standby",
    [],
    function collect() {
      this.set(active === undefined || active() ? 1 : 0);
    },
  );
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
