import { streams, subjects, type TableName } from "@adpipe/shared/contract";
import type { Logger } from "@adpipe/shared/logger";
import type { LoadedEvent } from "@adpipe/shared/messages/loaded";
import { type ReportsUpdatedEvent, reportsUpdatedEvent } from "@adpipe/shared/messages/reports-updated";
import { secondsSince } from "@adpipe/shared/metrics";
import { consumerBacklog } from "@adpipe/shared/nats-consumers";
import {
  durableAck,
  durablePull,
  durableStallWatch,
  largestDelivery,
  type PullFn,
} from "@adpipe/shared/nats-pull";
import { ELECTION_RETRY, publishThroughElection } from "@adpipe/shared/nats-retry";
import type { ClickHouseClient } from "@clickhouse/client";
import type { JetStreamClient, JetStreamManager } from "nats";
import type { ReporterConfig } from "./config.ts";
import { createReporterDeadLetters } from "./dead-letters.ts";
import { createEventLoop } from "./event-loop.ts";
import { describeFailure } from "./failure.ts";
import { createProgress, eventsFor } from "./progress.ts";
import { createRebuilder } from "./rebuild.ts";
import { loadQueries, type Queries } from "./sql.ts";
import { dayKeys, emptyTouched, planEvents, type Touched, touchedSize } from "./touched.ts";
import { createVersionClock, type VersionClock } from "./version-clock.ts";

export interface ReporterDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  clickhouse: ClickHouseClient;
  config: Pick<
    ReporterConfig,
    | "ADPIPE_NAMESPACE"
    | "REPORTER_COALESCE_MS"
    | "REPORTER_MAX_BACKOFF_MS"
    | "REPORTER_MAX_TOUCHED_KEYS"
    | "REPORTER_DATE_CHECK_MS"
  > &
    Partial<
      Pick<
        ReporterConfig,
        | "REPORTER_HEAL_INTERVAL_MS"
        | "REPORTER_ACK_WAIT_MS"
        | "REPORTER_MAX_ATTEMPTS"
        | "ADPIPE_CONSUMER_STALL_MS"
      >
    >;
  /** The NATS server's max_payload (`nc.info.max_payload`). */
  maxPayload?: number;
  /** Told each time the watchdog recreates the stalled pull of loaded events (metrics). */
  onStall?: () => void;
  /** Fault injection for tests: wraps the pulls of loaded events (to make one stall). */
  wrapPull?: (pull: PullFn) => PullFn;
  logger: Logger;
  queries?: Queries;
  /** Called after every successful rebuild (metrics). */
  onRebuild?: (result: RebuildResult) => void;
  /** Called after the rebuild that put these loaded events in the reports (freshness metrics). */
  onReported?: (events: LoadedEvent[]) => void;
  /** The UTC date reports are computed for (tests move it). */
  today?: () => string;
}

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

const utcToday = () => new Date().toISOString().slice(0, 10);

/** Unreported batches one heal pass takes (more wait for the next pass). */
const HEAL_BATCH_LIMIT = 5000;
/** A batch's loaded_batches record may land this long after its loaded_at (a slow insert). */
const HEAL_MARGIN_MS = 60_000;

/**
 * Keeps the five analytical tables current: loaded events → touched keys → one versioned INSERT
 * per table → `<ns>.reports.updated`. Rebuilds run one at a time (events, forced, date change).
 */
export function createReporter({
  js,
  jsm,
  clickhouse,
  config,
  logger,
  queries = loadQueries(),
  today = utcToday,
  onRebuild,
  onReported,
  maxPayload,
  onStall,
  wrapPull = (pull) => pull,
}: ReporterDeps) {
  const namespace = config.ADPIPE_NAMESPACE;
  const rebuilder = createRebuilder(clickhouse, queries);
  const progress = createProgress(clickhouse, rebuilder, queries);
  const healIntervalMs = config.REPORTER_HEAL_INTERVAL_MS ?? 5000;
  // A batch this young is left to its loaded event, which is normally a coalesce window away.
  const healGraceMs = Math.min(healIntervalMs, config.REPORTER_COALESCE_MS + 1000);
  const heals = { runs: 0, batches: 0, last_at: null as string | null, last_batches: 0 };
  /** Every batch loaded before this (ClickHouse's epoch ms) is reported: the heal step reads from here. */
  let healedThroughMs = 0;
  let healTimer: ReturnType<typeof setInterval> | undefined;
  let healError: { message: string; at: string } | null = null;
  let clock: VersionClock = createVersionClock();
  let reportDate: string | null = null;
  let last: RebuildResult | null = null;
  let lastError: { message: string; at: string } | null = null;
  const watermarks: Partial<Record<TableName, bigint>> = {};
  let chain: Promise<unknown> = Promise.resolve();
  let dateTimer: ReturnType<typeof setInterval> | undefined;
  const rebuilds = { incremental: 0, full: 0 };
  const deadLetters = createReporterDeadLetters({ js, namespace });
  /** Events set aside whose batches no full rebuild has reported yet (it runs at once, then on every heal tick until it succeeds). */
  let setAside: LoadedEvent[] = [];
  const maxAttempts = config.REPORTER_MAX_ATTEMPTS ?? 10;
  let healFailures = 0;

  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => {});
    return run;
  };

  async function rebuild(
    touched: Touched,
    reason: RebuildResult["reason"],
    events = 0,
    covered: Partial<Record<TableName, bigint>> = {},
    reported: LoadedEvent[] = [],
  ): Promise<RebuildResult> {
    const started = performance.now();
    const date = today();
    // Days elapsed/remaining, period status and pacing depend on the date: a new day re-rates
    // every campaign (the daily tables do not depend on it).
    if (reportDate !== null && reportDate !== date) touched.allCampaigns = true;
    // Any number of keys works (they travel in the body, key-sets.ts); past the bound one full
    // pass is cheaper than statements over that many literal keys.
    if (!touched.full && touchedSize(touched) > config.REPORTER_MAX_TOUCHED_KEYS) touched.full = true;
    const version = clock.next();
    const statementsMs: Record<string, number> = {};
    const writeStarted = performance.now();
    // Durable: the heal step never rebuilds these batches again. For events the record is written
    // alongside the reports, one round trip less: if the reports then fail, the events are not
    // acked and come back (and a full rebuild covers any set aside), so nothing relies on the
    // record alone. The heal step and full rebuilds have no event to come back: their record
    // waits for the reports (a crash before it heals them again).
    const [reports] = await Promise.all([
      rebuilder.write(touched, version, date, statementsMs),
      reason === "events" ? progress.markReported(reported, version) : undefined,
    ]);
    if (reason !== "events") await progress.markReported(reported, version);
    statementsMs.total = Math.round((performance.now() - writeStarted) * 10) / 10;
    reportDate = date;
    for (const [table, wm] of Object.entries(covered) as [TableName, bigint][]) {
      const prev = watermarks[table];
      if (prev === undefined || wm > prev) watermarks[table] = wm;
    }
    // A full rebuild lists no keys: it reports what the reports hold now, not 0.
    const [held] = touched.full
      ? await rebuilder.rows<{ campaigns: number; days: number }>(queries["report-counts"], {})
      : [];
    const result: RebuildResult = {
      version: version.toString(),
      full: touched.full,
      reason,
      reports,
      campaigns: held ? Number(held.campaigns) : touched.campaigns.size,
      days: held ? Number(held.days) : dayKeys(touched).size,
      events,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      finishedAt: new Date().toISOString(),
      reportDate: date,
      statementsMs,
    };
    last = result;
    lastError = null;
    rebuilds[result.full ? "full" : "incremental"]++;
    onRebuild?.(result);
    const event: ReportsUpdatedEvent = {
      reports,
      watermark: watermarkStrings(),
      updatedAt: result.finishedAt,
      durationMs: result.durationMs,
      full: result.full,
    };
    await publishThroughElection(
      js,
      subjects(namespace).reportsUpdated,
      reportsUpdatedEvent.encode(event),
      { msgID: `reports-updated-${result.version}` },
      ELECTION_RETRY,
    );
    logger.debug("reports rebuilt", { ...result });
    return result;
  }

  const watermarkStrings = () =>
    Object.fromEntries(Object.entries(watermarks).map(([t, w]) => [t, w.toString()])) as Partial<
      Record<TableName, string>
    >;

  async function handleEvents(events: LoadedEvent[]): Promise<void> {
    await exclusive(async () => {
      const plan = planEvents(events);
      const touched = await rebuilder.findTouched(plan);
      await rebuild(touched, "events", events.length, plan.watermarks, events);
      noteFreshness(events);
      onReported?.(events);
    });
  }

  /** Per table, the newest reported change's freshness (commit → in the reports), for /reports/status. */
  const freshness: Partial<Record<TableName, { committed_by: string; seconds: number; at: string }>> = {};
  function noteFreshness(events: LoadedEvent[]): void {
    const now = Date.now();
    for (const e of events) {
      const prev = freshness[e.table];
      if (!e.committedBy || (prev && prev.committed_by >= e.committedBy)) continue;
      freshness[e.table] = {
        committed_by: e.committedBy,
        seconds: secondsSince(e.committedBy, now),
        at: new Date(now).toISOString(),
      };
    }
  }

  function full(reason: RebuildResult["reason"]): Promise<RebuildResult> {
    return exclusive(() => fullNow(reason));
  }

  /** A full rebuild; `extra`: events whose rows are loaded (set aside) that it reports too. */
  async function fullNow(reason: RebuildResult["reason"], extra: LoadedEvent[] = []): Promise<RebuildResult> {
    // Read before the rebuild reads the entity tables: these batches are all in what it sees.
    const reported = [
      ...eventsFor(await progress.unreported(0, HEAL_BATCH_LIMIT, healedThroughMs)),
      ...extra,
    ];
    const touched = emptyTouched();
    touched.full = true;
    return rebuild(touched, reason, extra.length, planEvents(reported).watermarks, reported);
  }

  /**
   * Heals the reports after events were set aside: a full rebuild, which does not depend on
   * whatever made their keyed rebuild fail. Until one succeeds /ready says so, and every heal tick
   * tries again (a full rebuild, never the set-aside events' own rebuild).
   */
  async function healSetAside(): Promise<RebuildResult | null> {
    if (setAside.length === 0) return null;
    const events = setAside;
    try {
      const result = await fullNow("set-aside", events);
      setAside = setAside.filter((e) => !events.includes(e));
      logger.info("reports healed by a full rebuild after events were set aside", {
        events: events.length,
        durationMs: result.durationMs,
      });
      return result;
    } catch (err) {
      const failure = describeFailure(err);
      lastError = {
        message: `full rebuild after set-aside events: ${failure.error}`,
        at: new Date().toISOString(),
      };
      logger.warn("full rebuild after set-aside events failed; the next heal check retries it", {
        ...failure,
        err,
      });
      throw err;
    }
  }

  /**
   * Rebuilds the windows of batches that are loaded (recorded in loaded_batches, so their rows
   * are in the entity tables) but not reported: their loaded event was lost, or is stuck. Exact
   * for the same reason an event is: the touched keys come from the windows' stored versions.
   */
  function heal(): Promise<RebuildResult | null> {
    return exclusive(async () => {
      if (setAside.length > 0) return healSetAside();
      // A batch loaded while a long rebuild ran waits for its event behind that rebuild: give it
      // a few rebuilds' time before calling its event lost (a start-up's first large load took 9 s).
      const grace = Math.round(Math.max(healGraceMs, Math.min(60_000, 3 * (last?.durationMs ?? 0))));
      const passAt = await progress.serverNowMs();
      const batches = await progress.unreported(grace, HEAL_BATCH_LIMIT, healedThroughMs);
      heals.runs++;
      heals.last_at = new Date().toISOString();
      heals.last_batches = batches.length;
      // Everything loaded before this pass's grace is reported once the pass succeeds (with a
      // minute's margin for a record still being written): the next pass starts there, so its
      // cost follows the traffic since, not the 7 days the tables keep.
      const reach = batches.length < HEAL_BATCH_LIMIT ? passAt - grace - HEAL_MARGIN_MS : healedThroughMs;
      if (batches.length === 0) {
        healedThroughMs = Math.max(healedThroughMs, reach);
        return null;
      }
      const events = eventsFor(batches);
      const plan = planEvents(events);
      let result: RebuildResult;
      try {
        result = await rebuild(await rebuilder.findTouched(plan), "heal", 0, plan.watermarks, events);
        healFailures = 0;
      } catch (err) {
        // The same bound as for events: these batches' keyed rebuild keeps failing (or their events
        // were set aside before a restart): a full rebuild covers them instead, from the next check.
        if (++healFailures >= maxAttempts) {
          healFailures = 0;
          setAside = [...setAside, ...events];
          logger.error("heal rebuild failed repeatedly; a full rebuild heals the reports instead", {
            ...describeFailure(err),
            attempts: maxAttempts,
            batches: batches.length,
          });
        }
        throw err;
      }
      heals.batches += batches.length;
      healedThroughMs = Math.max(healedThroughMs, reach);
      logger.warn("healed reports: loaded batches had no loaded event", {
        batches: batches.length,
        tables: Object.keys(plan.windows),
        full: result.full,
      });
      return result;
    });
  }

  let loop: ReturnType<typeof createEventLoop> | undefined;

  /** Re-rates every campaign's totals when the UTC date moved on since the last rebuild. */
  function checkDate(): Promise<RebuildResult | null> {
    return exclusive(async () => {
      if (reportDate === null || reportDate === today()) return null;
      try {
        return await rebuild(emptyTouched(), "date-change");
      } catch (err) {
        lastError = {
          message: err instanceof Error ? err.message : String(err),
          at: new Date().toISOString(),
        };
        throw err;
      }
    });
  }

  return {
    /** Seeds the version clock, rebuilds empty reports, then consumes loaded events. */
    async start(): Promise<void> {
      const [max] = await rebuilder.rows<{ version: number | string }>(queries["max-version"], {});
      clock = createVersionClock(BigInt(max?.version ?? 0));
      const [state] = await rebuilder.rows<{
        campaigns: number;
        reported: number;
        facts: number;
        counted: number;
        unpriced: number;
      }>(queries["report-state"], {});
      const reportsEmpty = Number(state?.campaigns) > 0 && Number(state?.reported) === 0;
      // A database migrated to 0007 has facts and reports but no bucket counts yet; one migrated
      // to 0009 has click counts without their cost.
      const bucketsEmpty = Number(state?.facts) > 0 && Number(state?.counted) === 0;
      const unpriced = Number(state?.unpriced) > 0;
      if (reportsEmpty || bucketsEmpty || unpriced) {
        const r = await full("start-up");
        logger.info(
          reportsEmpty
            ? "reports were empty: full rebuild"
            : bucketsEmpty
              ? "bucket counts were empty: full rebuild"
              : "clicks had no cost yet: full rebuild",
          { durationMs: r.durationMs },
        );
      }
      const stream = streams(namespace).events;
      const durable = streams(namespace).reporterConsumer;
      // Fails start-up when the consumer does not exist (it is provisioned before the reporter runs).
      await js.consumers.get(stream, durable);
      loop = createEventLoop({
        pull: wrapPull(durablePull(js, stream, durable)),
        ack: durableAck(js),
        largestDeliveryBytes: largestDelivery(maxPayload),
        stall: durableStallWatch({
          jsm,
          stream,
          durable,
          afterMs: config.ADPIPE_CONSUMER_STALL_MS ?? 10_000,
          logger,
          onStall,
        }),
        coalesceMs: config.REPORTER_COALESCE_MS,
        maxBackoffMs: config.REPORTER_MAX_BACKOFF_MS,
        heartbeatMs: Math.max(200, Math.floor((config.REPORTER_ACK_WAIT_MS ?? 3_000) / 3)),
        logger,
        handle: handleEvents,
        onOutcome: (err) => {
          if (err) lastError = { message: describeFailure(err).error, at: new Date().toISOString() };
        },
        maxAttempts,
        deadLetters,
        onSetAside: (events) => {
          setAside = [...setAside, ...events];
          exclusive(healSetAside).catch(() => {}); // logged there; the heal tick retries
        },
      });
      await loop.start();
      await heal().catch((err) => logger.warn("heal at start-up failed; the next check retries it", { err }));
      healTimer = setInterval(() => {
        heal().then(
          () => {
            healError = null;
          },
          (err) => {
            healError = {
              message: err instanceof Error ? err.message : String(err),
              at: new Date().toISOString(),
            };
            logger.warn("heal failed; the next check retries it", { err });
          },
        );
      }, healIntervalMs);
      dateTimer = setInterval(() => {
        checkDate().catch((err) => {
          logger.warn("date-change rebuild failed; the next event or check retries it", { err });
        });
      }, config.REPORTER_DATE_CHECK_MS);
      logger.info("reporting", { namespace, coalesceMs: config.REPORTER_COALESCE_MS });
    },

    async stop(): Promise<void> {
      clearInterval(dateTimer);
      clearInterval(healTimer);
      await loop?.stop();
      await chain;
    },

    /** POST /reports/rebuild: every report from scratch (same versioned replace). */
    rebuildAll: () => full("forced"),

    /**
     * `<ns>.reports.rebuild` (the verifier): these campaigns' rows on every day, with a version
     * above any stored one (a report row that drifted with a greater version must lose).
     */
    rebuildCampaigns: (campaigns: number[]) =>
      exclusive(async () => {
        const [max] = await rebuilder.rows<{ version: number | string }>(queries["max-version"], {});
        const stored = BigInt(max?.version ?? 0);
        if (stored > clock.last) clock = createVersionClock(stored);
        const touched = emptyTouched();
        for (const c of campaigns) {
          touched.campaigns.add(c);
          touched.allDayCampaigns.add(c);
        }
        return rebuild(touched, "verify");
      }),

    checkDate,

    /** One heal pass now (tests, and the periodic check). */
    heal,

    /** Throws while the consumer of loaded events is stalled or cannot pull (for /ready). */
    checkConsumer(): void {
      const h = loop?.health();
      const consumer = streams(namespace).reporterConsumer;
      if (h?.stalledSince !== undefined)
        throw new Error(`${consumer} consumer stalled since ${new Date(h.stalledSince).toISOString()}`);
      if (
        h?.failingSince !== undefined &&
        Date.now() - h.failingSince >= (config.ADPIPE_CONSUMER_STALL_MS ?? 10_000)
      )
        throw new Error(
          `${consumer} cannot pull since ${new Date(h.failingSince).toISOString()}: ${h.lastError}`,
        );
    },

    /** The consumer watchdog's findings (metrics). */
    consumerHealth: () => loop?.health(),

    /** Throws while the last rebuild attempt failed (for /ready). */
    checkRebuilds(): void {
      if (lastError) throw new Error(`last rebuild failed at ${lastError.at}: ${lastError.message}`);
      if (healError) throw new Error(`last heal check failed at ${healError.at}: ${healError.message}`);
    },

    async status() {
      const pending = await consumerBacklog(
        jsm,
        streams(namespace).events,
        streams(namespace).reporterConsumer,
      ).catch(() => null);
      return {
        namespace,
        last_rebuild: last,
        last_error: lastError,
        watermark: watermarkStrings(),
        events: pending,
        counters: loop?.stats ?? null,
        set_aside_pending: setAside.length,
        rebuilds,
        report_date: reportDate,
        freshness,
        // Durable watermarks per table: loaded (loaded_batches) against reported (reported_batches).
        progress: await progress.status(healedThroughMs).catch(() => null),
        heals: {
          ...heals,
          interval_ms: healIntervalMs,
          last_error: healError,
          // Batches loaded before this are known reported; the heal step reads from here on.
          healed_through: healedThroughMs > 0 ? new Date(healedThroughMs).toISOString() : null,
        },
      };
    },
  };
}

export type Reporter = ReturnType<typeof createReporter>;
