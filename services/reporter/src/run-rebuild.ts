// The reporter's executor: runs one rebuild (the versioned write of every report the keys touch,
// the reported record, `<ns>.reports.updated`) and keeps what the last ones left: the report
// date, the version clock, the watermarks covered, the last result. Serialising rebuilds is the
// caller's job (reporter.ts).
import { subjects, type TableName } from "@adpipe/shared/contract";
import type { Logger } from "@adpipe/shared/logger";
import type { LoadedEvent } from "@adpipe/shared/messages/loaded";
import { type ReportsUpdatedEvent, reportsUpdatedEvent } from "@adpipe/shared/messages/reports-updated";
import { ELECTION_RETRY, publishThroughElection } from "@adpipe/shared/nats-retry";
import type { JetStreamClient } from "nats";
import { widenTouched } from "./decisions.ts";
import type { createProgress } from "./progress.ts";
import type { createRebuilder } from "./rebuild.ts";
import type { Queries } from "./sql.ts";
import { dayKeys, type Touched } from "./touched.ts";
import { createVersionClock, type VersionClock } from "./version-clock.ts";

export interface RebuildResult {
  version: string;
  full: boolean;
  reason: "events" | "forced" | "start-up" | "date-change" | "heal" | "verify" | "set-aside";
  reports: string[];
  campaigns: number;
  days: number;
  events: number;
  durationMs: number;
  finishedAt: string;
  reportDate: string;
  /** Milliseconds per statement of the write (for /reports/status and tuning). */
  statementsMs: Record<string, number>;
}

export interface RebuildRequest {
  touched: Touched;
  reason: RebuildResult["reason"];
  /** Events it answers (counted in the result). */
  events?: number;
  /** Per table, the watermark the rebuild covers (for `reports.updated`). */
  covered?: Partial<Record<TableName, bigint>>;
  /** Events whose batches it reports (recorded in reported_batches). */
  reported?: LoadedEvent[];
}

export function createRebuildRunner(o: {
  js: JetStreamClient;
  namespace: string;
  rebuilder: ReturnType<typeof createRebuilder>;
  progress: ReturnType<typeof createProgress>;
  queries: Queries;
  logger: Logger;
  today: () => string;
  maxTouchedKeys: number;
  onRebuild?: (result: RebuildResult) => void;
}) {
  let clock: VersionClock = createVersionClock();
  let reportDate: string | null = null;
  let last: RebuildResult | null = null;
  const watermarks: Partial<Record<TableName, bigint>> = {};
  const counts = { incremental: 0, full: 0 };

  const watermarkStrings = () =>
    Object.fromEntries(Object.entries(watermarks).map(([t, w]) => [t, w.toString()])) as Partial<
      Record<TableName, string>
    >;

  /** Versions start above the greatest stored one (a report row with a greater version would win). */
  async function seedClock(): Promise<void> {
    const [max] = await o.rebuilder.rows<{ version: number | string }>(o.queries["max-version"], {});
    const stored = BigInt(max?.version ?? 0);
    if (stored > clock.last) clock = createVersionClock(stored);
  }

  /**
   * Writes the reports and the reported record. For events the record is written alongside the
   * reports, one round trip less: if the reports then fail, the events are not acked and come
   * back (and a full rebuild covers any set aside), so nothing relies on the record alone. The
   * heal step and full rebuilds have no event to come back: their record waits for the reports
   * (a crash before it heals them again).
   */
  async function write(r: RebuildRequest, date: string, statementsMs: Record<string, number>) {
    const version = clock.next();
    const reported = r.reported ?? [];
    const [reports] = await Promise.all([
      o.rebuilder.write(r.touched, version, date, statementsMs),
      r.reason === "events" ? o.progress.markReported(reported, version) : undefined,
    ]);
    if (r.reason !== "events") await o.progress.markReported(reported, version);
    return { version, reports };
  }

  async function run(r: RebuildRequest): Promise<RebuildResult> {
    const started = performance.now();
    const date = o.today();
    widenTouched(r.touched, { lastDate: reportDate, date, maxKeys: o.maxTouchedKeys });
    const statementsMs: Record<string, number> = {};
    const writeStarted = performance.now();
    const { version, reports } = await write(r, date, statementsMs);
    statementsMs.total = Math.round((performance.now() - writeStarted) * 10) / 10;
    reportDate = date;
    for (const [table, wm] of Object.entries(r.covered ?? {}) as [TableName, bigint][]) {
      const prev = watermarks[table];
      if (prev === undefined || wm > prev) watermarks[table] = wm;
    }
    // A full rebuild lists no keys: it reports what the reports hold now, not 0.
    const [held] = r.touched.full
      ? await o.rebuilder.rows<{ campaigns: number; days: number }>(o.queries["report-counts"], {})
      : [];
    const result: RebuildResult = {
      version: version.toString(),
      full: r.touched.full,
      reason: r.reason,
      reports,
      campaigns: held ? Number(held.campaigns) : r.touched.campaigns.size,
      days: held ? Number(held.days) : dayKeys(r.touched).size,
      events: r.events ?? 0,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      finishedAt: new Date().toISOString(),
      reportDate: date,
      statementsMs,
    };
    last = result;
    counts[result.full ? "full" : "incremental"]++;
    o.onRebuild?.(result);
    await announce(result);
    o.logger.debug("reports rebuilt", { ...result });
    return result;
  }

  function announce(result: RebuildResult) {
    const event: ReportsUpdatedEvent = {
      reports: result.reports,
      watermark: watermarkStrings(),
      updatedAt: result.finishedAt,
      durationMs: result.durationMs,
      full: result.full,
    };
    return publishThroughElection(
      o.js,
      subjects(o.namespace).reportsUpdated,
      reportsUpdatedEvent.encode(event),
      { msgID: `reports-updated-${result.version}` },
      ELECTION_RETRY,
    );
  }

  return {
    run,
    seedClock,
    /** The last successful rebuild. */
    last: () => last,
    /** The UTC date the reports were last computed for. */
    reportDate: () => reportDate,
    watermarks: watermarkStrings,
    counts,
  };
}

export type RebuildRunner = ReturnType<typeof createRebuildRunner>;
