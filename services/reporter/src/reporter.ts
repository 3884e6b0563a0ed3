import { streams, type TableName } from "@adpipe/shared/contract";
import { AppError } from "@adpipe/shared/errors";
import type { Logger } from "@adpipe/shared/logger";
import type { LoadedEvent } from "@adpipe/shared/messages/loaded";
import { secondsSince } from "@adpipe/shared/metrics";
import { consumerBacklog } from "@adpipe/shared/nats-consumers";
import {
  durableAck,
  durablePull,
  durableStallWatch,
  largestDelivery,
  type PullFn,
} from "@adpipe/shared/nats-pull";
import type { ClickHouseClient } from "@clickhouse/client";
import type { JetStreamClient, JetStreamManager } from "nats";
import type { ReporterConfig } from "./config.ts";
import { createReporterDeadLetters } from "./dead-letters.ts";
import {
  HEAL_BATCH_LIMIT,
  type HealAction,
  healGraceMs,
  healReach,
  initialHealState,
  nextHealStep,
  reduceHeal,
  type StartupState,
  startupRebuildReason,
} from "./decisions.ts";
import { createEventLoop } from "./event-loop.ts";
import { describeFailure } from "./failure.ts";
import type { Lease } from "./lease.ts";
import { createProgress, eventsFor } from "./progress.ts";
import { createRebuilder } from "./rebuild.ts";
import { createRebuildRunner, type RebuildRequest, type RebuildResult } from "./run-rebuild.ts";
import { loadQueries, type Queries } from "./sql.ts";
import { emptyTouched, planEvents } from "./touched.ts";

export type { RebuildResult } from "./run-rebuild.ts";

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
  /**
   * Several reporters (lease.ts): every rebuild first checks that this one is active. Absent: one
   * reporter, always active. With a lease, `activate` / `deactivate` follow it, not `start`.
   */
  lease?: Pick<Lease, "active" | "status">;
}

/** A rebuild asked of a standby reporter: the active one does it (HTTP 409). */
export class NotActiveError extends AppError {
  constructor(holder: string | null) {
    super("not_active", `this reporter is a standby; the active reporter is ${holder ?? "unknown"}`, 409);
  }
}

const utcToday = () => new Date().toISOString().slice(0, 10);

type Failed = { message: string; at: string } | null;
const failed = (err: unknown): NonNullable<Failed> => ({
  message: err instanceof Error ? err.message : String(err),
  at: new Date().toISOString(),
});

/**
 * Keeps the analytical tables current: loaded events → touched keys → one versioned INSERT per
 * table → `<ns>.reports.updated`. This is the scheduler: it serialises every rebuild (events,
 * heal passes, forced, date change, verifier) through one chain, runs the timers, and applies the
 * decisions of decisions.ts; run-rebuild.ts executes each rebuild.
 */
export function createReporter(deps: ReporterDeps) {
  const { js, clickhouse, config, logger, queries = loadQueries(), today = utcToday } = deps;
  const namespace = config.ADPIPE_NAMESPACE;
  const rebuilder = createRebuilder(clickhouse, queries);
  const progress = createProgress(clickhouse, rebuilder, queries);
  const runner = createRebuildRunner({
    js,
    namespace,
    rebuilder,
    progress,
    queries,
    logger,
    today,
    maxTouchedKeys: config.REPORTER_MAX_TOUCHED_KEYS,
    onRebuild: deps.onRebuild,
  });
  const healIntervalMs = config.REPORTER_HEAL_INTERVAL_MS ?? 5000;
  // A batch this young is left to its loaded event, which is normally a coalesce window away.
  const healBaseGraceMs = Math.min(healIntervalMs, config.REPORTER_COALESCE_MS + 1000);
  const maxAttempts = config.REPORTER_MAX_ATTEMPTS ?? 10;
  const heals = { runs: 0, batches: 0, last_at: null as string | null, last_batches: 0 };
  let healState = initialHealState();
  let lastError: Failed = null;
  let healError: Failed = null;
  let chain: Promise<unknown> = Promise.resolve();
  const timers: ReturnType<typeof setInterval>[] = [];
  let loop: ReturnType<typeof createEventLoop> | undefined;

  const apply = (action: HealAction) => {
    const next = reduceHeal(healState, action);
    healState = next.state;
    return next.escalated;
  };
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => {});
    return run;
  };
  const rebuild = async (r: RebuildRequest) => {
    // Checked right before the version is taken (runner.run, synchronously): see lease.ts.
    if (deps.lease && !deps.lease.active()) throw new NotActiveError(deps.lease.status().holder);
    const result = await runner.run(r);
    lastError = null;
    return result;
  };

  function handleEvents(events: LoadedEvent[]): Promise<void> {
    return exclusive(async () => {
      const plan = planEvents(events);
      const touched = await rebuilder.findTouched(plan);
      await rebuild({
        touched,
        reason: "events",
        events: events.length,
        covered: plan.watermarks,
        reported: events,
      });
      noteFreshness(events);
      deps.onReported?.(events);
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

  /** A full rebuild; `extra`: events whose rows are loaded (set aside) that it reports too. */
  async function fullNow(reason: RebuildResult["reason"], extra: LoadedEvent[] = []): Promise<RebuildResult> {
    // Read before the rebuild reads the entity tables: these batches are all in what it sees.
    const unreported = await progress.unreported(0, HEAL_BATCH_LIMIT, healState.healedThroughMs);
    const reported = [...eventsFor(unreported), ...extra];
    const touched = emptyTouched();
    touched.full = true;
    return rebuild({
      touched,
      reason,
      events: extra.length,
      covered: planEvents(reported).watermarks,
      reported,
    });
  }

  /**
   * Heals the reports after events were set aside: a full rebuild, which does not depend on
   * whatever made their keyed rebuild fail. Until one succeeds /ready says so, and every heal tick
   * tries again (a full rebuild, never the set-aside events' own rebuild).
   */
  async function healSetAside(): Promise<RebuildResult | null> {
    const events = healState.setAside;
    if (events.length === 0) return null;
    try {
      const result = await fullNow("set-aside", events);
      apply({ type: "set-aside-healed", events });
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
    return exclusive(() => (nextHealStep(healState) === "full-for-set-aside" ? healSetAside() : healKeyed()));
  }

  async function healKeyed(): Promise<RebuildResult | null> {
    const grace = healGraceMs(healBaseGraceMs, runner.last()?.durationMs);
    const passAtMs = await progress.serverNowMs();
    const batches = await progress.unreported(grace, HEAL_BATCH_LIMIT, healState.healedThroughMs);
    heals.runs++;
    heals.last_at = new Date().toISOString();
    heals.last_batches = batches.length;
    const reach = healReach({
      batches: batches.length,
      passAtMs,
      graceMs: grace,
      healedThroughMs: healState.healedThroughMs,
    });
    if (batches.length === 0) {
      apply({ type: "pass-succeeded", reach });
      return null;
    }
    const events = eventsFor(batches);
    const plan = planEvents(events);
    let result: RebuildResult;
    try {
      const touched = await rebuilder.findTouched(plan);
      result = await rebuild({ touched, reason: "heal", covered: plan.watermarks, reported: events });
    } catch (err) {
      // The same bound as for events: these batches' keyed rebuild keeps failing (or their events
      // were set aside before a restart): a full rebuild covers them instead, from the next check.
      if (apply({ type: "pass-failed", events, maxAttempts }))
        logger.error("heal rebuild failed repeatedly; a full rebuild heals the reports instead", {
          ...describeFailure(err),
          attempts: maxAttempts,
          batches: batches.length,
        });
      throw err;
    }
    heals.batches += batches.length;
    apply({ type: "pass-succeeded", reach });
    logger.warn("healed reports: loaded batches had no loaded event", {
      batches: batches.length,
      tables: Object.keys(plan.windows),
      full: result.full,
    });
    return result;
  }

  /** Re-rates every campaign's totals when the UTC date moved on since the last rebuild. */
  function checkDate(): Promise<RebuildResult | null> {
    return exclusive(async () => {
      const date = runner.reportDate();
      if (date === null || date === today()) return null;
      try {
        return await rebuild({ touched: emptyTouched(), reason: "date-change" });
      } catch (err) {
        lastError = failed(err);
        throw err;
      }
    });
  }

  /** A full rebuild at start-up when the report tables are empty or predate a migration. */
  async function rebuildIfNeeded(): Promise<void> {
    const [state] = await rebuilder.rows<StartupState>(queries["report-state"], {});
    const reason = startupRebuildReason(state);
    if (!reason) return;
    const r = await exclusive(() => fullNow("start-up"));
    logger.info(reason, { durationMs: r.durationMs });
  }

  function eventLoop(): ReturnType<typeof createEventLoop> {
    const stream = streams(namespace).events;
    const durable = streams(namespace).reporterConsumer;
    return createEventLoop({
      pull: (deps.wrapPull ?? ((pull: PullFn) => pull))(durablePull(js, stream, durable)),
      ack: durableAck(js),
      largestDeliveryBytes: largestDelivery(deps.maxPayload),
      stall: durableStallWatch({
        jsm: deps.jsm,
        stream,
        durable,
        afterMs: config.ADPIPE_CONSUMER_STALL_MS ?? 10_000,
        logger,
        onStall: deps.onStall,
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
      deadLetters: createReporterDeadLetters({ js, namespace }),
      onSetAside: (events) => {
        apply({ type: "set-aside", events });
        exclusive(healSetAside).catch(() => {}); // logged there; the heal tick retries
      },
    });
  }

  function startTimers(): void {
    const healTick = () =>
      heal().then(
        () => {
          healError = null;
        },
        (err) => {
          healError = failed(err);
          logger.warn("heal failed; the next check retries it", { err });
        },
      );
    timers.push(setInterval(healTick, healIntervalMs));
    const dateTick = () =>
      checkDate().catch((err) => {
        logger.warn("date-change rebuild failed; the next event or check retries it", { err });
      });
    timers.push(setInterval(dateTick, config.REPORTER_DATE_CHECK_MS));
  }

  /**
   * Seeds the version clock, rebuilds empty reports, then consumes loaded events and heals.
   * `healNow: false` (taking over from a reporter that died): its events come back by themselves
   * (their ack wait is no longer than the lease's TTL), so they go first and the heal step runs at
   * its next tick; healing first would rebuild the same batches twice.
   */
  async function activate(o: { healNow?: boolean } = {}): Promise<void> {
    await runner.seedClock();
    await rebuildIfNeeded();
    loop = eventLoop();
    await loop.start();
    if (o.healNow !== false)
      await heal().catch((err) => logger.warn("heal at start-up failed; the next check retries it", { err }));
    startTimers();
    logger.info("reporting", { namespace, coalesceMs: config.REPORTER_COALESCE_MS });
  }

  /** Stops consuming and healing; the rebuild in progress finishes (or fails) first. */
  async function deactivate(): Promise<void> {
    for (const t of timers.splice(0)) clearInterval(t);
    await loop?.stop();
    loop = undefined;
    await chain;
    // A standby has no rebuild of its own to report on: what failed was the active one's.
    lastError = null;
    healError = null;
  }

  return {
    /** Without a lease: activates at once. With one: only checks the consumer (the lease activates). */
    async start(): Promise<void> {
      // Fails start-up when the consumer does not exist (it is provisioned before the reporter runs).
      await js.consumers.get(streams(namespace).events, streams(namespace).reporterConsumer);
      if (!deps.lease) await activate();
    },

    activate,
    deactivate,

    stop: deactivate,

    /** POST /reports/rebuild: every report from scratch (same versioned replace). */
    rebuildAll: () => exclusive(() => fullNow("forced")),

    /**
     * `<ns>.reports.rebuild` (the verifier): these campaigns' rows on every day, with a version
     * above any stored one (a report row that drifted with a greater version must lose).
     */
    rebuildCampaigns: (campaigns: number[]) =>
      exclusive(async () => {
        await runner.seedClock();
        const touched = emptyTouched();
        for (const c of campaigns) {
          touched.campaigns.add(c);
          touched.allDayCampaigns.add(c);
        }
        return rebuild({ touched, reason: "verify" });
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
        deps.jsm,
        streams(namespace).events,
        streams(namespace).reporterConsumer,
      ).catch(() => null);
      const { healedThroughMs } = healState;
      return {
        namespace,
        lease: deps.lease?.status() ?? null,
        last_rebuild: runner.last(),
        last_error: lastError,
        watermark: runner.watermarks(),
        events: pending,
        counters: loop?.stats ?? null,
        set_aside_pending: healState.setAside.length,
        rebuilds: runner.counts,
        report_date: runner.reportDate(),
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
