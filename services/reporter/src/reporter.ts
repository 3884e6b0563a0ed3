import { streams } from "@adpipe/shared/contract";
import { AppError } from "@adpipe/shared/errors";
import type { Logger } from "@adpipe/shared/logger";
import type { LoadedEvent } from "@adpipe/shared/messages/loaded";
import { consumerBacklog } from "@adpipe/shared/nats-consumers";
import type { PullFn } from "@adpipe/shared/nats-pull";
import type { ClickHouseClient } from "@clickhouse/client";
import type { JetStreamClient, JetStreamManager } from "nats";
import type { ReporterConfig } from "./config.ts";
import { HEAL_BATCH_LIMIT, type StartupState, startupRebuildReason } from "./decisions.ts";
import type { createEventLoop } from "./event-loop.ts";
import { describeFailure } from "./failure.ts";
import { createFreshness } from "./freshness.ts";
import { createHealer } from "./healer.ts";
import { failureNow, failureOf, type LastFailure } from "./last-failure.ts";
import type { Lease } from "./lease.ts";
import { createProgress, eventsFor } from "./progress.ts";
import { createRebuilder } from "./rebuild.ts";
import { consumerProblem, createReporterLoop } from "./reporter-loop.ts";
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

/** What the reporter rebuilds with: the statements, the durable progress, and the runner of one rebuild. */
function rebuildParts(deps: ReporterDeps, queries: Queries, today: () => string) {
  const rebuilder = createRebuilder(deps.clickhouse, queries);
  const progress = createProgress(deps.clickhouse, rebuilder, queries);
  const runner = createRebuildRunner({
    js: deps.js,
    namespace: deps.config.ADPIPE_NAMESPACE,
    rebuilder,
    progress,
    queries,
    logger: deps.logger,
    today,
    maxTouchedKeys: deps.config.REPORTER_MAX_TOUCHED_KEYS,
    onRebuild: deps.onRebuild,
  });
  return { rebuilder, progress, runner };
}

/**
 * Keeps the analytical tables current: loaded events → touched keys → one versioned INSERT per
 * table → `<ns>.reports.updated`. This is the scheduler: it serialises every rebuild (events,
 * heal passes, forced, date change, verifier) through one chain, runs the timers, and applies the
 * decisions of decisions.ts (through healer.ts); run-rebuild.ts executes each rebuild.
 */
export function createReporter(deps: ReporterDeps) {
  const { js, config, logger, queries = loadQueries(), today = utcToday } = deps;
  const namespace = config.ADPIPE_NAMESPACE;
  const { rebuilder, progress, runner } = rebuildParts(deps, queries, today);
  const healIntervalMs = config.REPORTER_HEAL_INTERVAL_MS ?? 5000;
  const maxAttempts = config.REPORTER_MAX_ATTEMPTS ?? 10;
  const freshness = createFreshness();
  let lastError: LastFailure = null;
  let healError: LastFailure = null;
  let chain: Promise<unknown> = Promise.resolve();
  const timers: ReturnType<typeof setInterval>[] = [];
  let loop: ReturnType<typeof createEventLoop> | undefined;

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

  /** A full rebuild; `extra`: events whose rows are loaded (set aside) that it reports too. */
  async function fullNow(reason: RebuildResult["reason"], extra: LoadedEvent[] = []): Promise<RebuildResult> {
    // Read before the rebuild reads the entity tables: these batches are all in what it sees.
    const unreported = await progress.unreported(0, HEAL_BATCH_LIMIT, healer.state().healedThroughMs);
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

  const healer = createHealer({
    progress,
    rebuilder,
    runner,
    logger,
    maxAttempts,
    healIntervalMs,
    coalesceMs: config.REPORTER_COALESCE_MS,
    rebuild,
    fullNow,
    onFullFailed: (failure) => {
      lastError = failure;
    },
  });

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
      freshness.note(events);
      deps.onReported?.(events);
    });
  }

  /** One heal pass, in turn with every other rebuild (tests, and the periodic check). */
  const heal = (): Promise<RebuildResult | null> => exclusive(healer.pass);

  /** Re-rates every campaign's totals when the UTC date moved on since the last rebuild. */
  function checkDate(): Promise<RebuildResult | null> {
    return exclusive(async () => {
      const date = runner.reportDate();
      if (date === null || date === today()) return null;
      try {
        return await rebuild({ touched: emptyTouched(), reason: "date-change" });
      } catch (err) {
        lastError = failureOf(err);
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
    return createReporterLoop(
      {
        js,
        jsm: deps.jsm,
        logger,
        config,
        maxAttempts,
        maxPayload: deps.maxPayload,
        onStall: deps.onStall,
        wrapPull: deps.wrapPull,
      },
      {
        handle: handleEvents,
        onOutcome: (err) => {
          if (err) lastError = failureNow(describeFailure(err).error);
        },
        onSetAside: (events) => {
          healer.setAside(events);
          exclusive(healer.healSetAside).catch(() => {}); // logged there; the heal tick retries
        },
      },
    );
  }

  function startTimers(): void {
    const healTick = () =>
      heal().then(
        () => {
          healError = null;
        },
        (err) => {
          healError = failureOf(err);
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
      const stallMs = config.ADPIPE_CONSUMER_STALL_MS ?? 10_000;
      const problem = consumerProblem(loop?.health(), streams(namespace).reporterConsumer, stallMs);
      if (problem) throw new Error(problem);
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
      const { healedThroughMs, setAside } = healer.state();
      return {
        namespace,
        lease: deps.lease?.status() ?? null,
        last_rebuild: runner.last(),
        last_error: lastError,
        watermark: runner.watermarks(),
        events: pending,
        counters: loop?.stats ?? null,
        set_aside_pending: setAside.length,
        rebuilds: runner.counts,
        report_date: runner.reportDate(),
        freshness: freshness.byTable,
        // Durable watermarks per table: loaded (loaded_batches) against reported (reported_batches).
        progress: await progress.status(healedThroughMs).catch(() => null),
        heals: {
          ...healer.counts,
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
