import type { ClickHouseClient } from "@adpipe/shared/clickhouse";
import { FACT_TABLES, subjects, TABLES, type TableName } from "@adpipe/shared/contract";
import type { Logger } from "@adpipe/shared/logger";
import { verifyCompletedEvent } from "@adpipe/shared/messages/verify";
import type { Pool } from "@adpipe/shared/pg";
import type {
  VerifyCompletedEvent,
  VerifyMode,
  VerifyReportStatus,
  VerifyStatus,
  VerifyTableStatus,
} from "@adpipe/shared/verify";
import type { JetStreamClient, NatsConnection } from "nats";
import type { BatchLimits } from "../copy-batches.ts";
import { createWatermarkStore } from "../watermark-store.ts";
import { forgedVersions } from "./forged.ts";
import { currentSnapshot, type IncrementalMark, tableDifferences } from "./incremental.ts";
import type { VerifyMetrics } from "./metrics.ts";
import { loadVerifyQueries } from "./queries.ts";
import { planRepair, publishRepair } from "./repair.ts";
import { createReportCheck } from "./report-check.ts";
import { clickhouseSide, comparedColumns, postgresSide } from "./sides.ts";

export interface VerifierConfig {
  namespace: string;
  intervalMs: number;
  chunkIds: number;
  leafIds: number;
  /** Ranges compared at once (VERIFY_CONCURRENCY; default 1). */
  concurrency?: number;
  settleMs: number;
  /**
   * Every how many scheduled runs one is a full pass (VERIFY_FULL_EVERY; default 12); the others
   * are incremental. 1: every scheduled run is full.
   */
  fullEvery?: number;
  /** How long a repair may take to show in ClickHouse before the run reports it unconfirmed. */
  recheckTimeoutMs?: number;
  limits: BatchLimits;
  maxInFlight: number;
}

export interface VerifierDeps {
  pool: Pool;
  clickhouse: ClickHouseClient;
  nc: NatsConnection;
  js: JetStreamClient;
  config: VerifierConfig;
  logger: Logger;
  metrics?: VerifyMetrics;
}

const SAMPLE = 10;

const emptyTable = (table: TableName): VerifyTableStatus => ({
  table,
  verifiedAt: null,
  rangesChecked: 0,
  rowsChecked: 0,
  driftFound: 0,
  rowsRepaired: 0,
  clean: true,
  sampleIds: [],
});

/**
 * The verifier (docs/verifier.md): compares each table of PostgreSQL with its ClickHouse
 * `_current` view by id range, narrows differences by bisection, re-publishes the differing rows
 * through the delta path, then compares PostgreSQL's impressions and clicks per campaign and day
 * with the report tables and asks the reporter to rebuild the campaigns that differ. Reads
 * PostgreSQL only. One run at a time; a request during a run waits for that run's result.
 */
export function createVerifier({ pool, clickhouse, nc, js, config, logger, metrics }: VerifierDeps) {
  const queries = loadVerifyQueries();
  const status: VerifyStatus = {
    enabled: true,
    phase: "idle",
    exactAsOf: null,
    lastRun: null,
    tables: TABLES.map(emptyTable),
    reports: null,
    runs: 0,
  };
  let running: Promise<VerifyCompletedEvent> | null = null;
  let stopped = true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let loop: Promise<void> | undefined;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const checkStopped = () => {
    if (stopping) throw new Error("verifier stopping");
  };
  let stopping = false;

  const watermarks = createWatermarkStore(pool);
  /** Paused tables lag on purpose: neither compared nor repaired (a repair would load them). */
  const pausedNow = () => watermarks.paused();
  const skipped = (since: string) => `paused since ${since}`;

  /**
   * Per table, where the next incremental run starts (incremental.ts): set by a run that ended
   * with the table equal, cleared by one that did not (the next is full). In memory: after a
   * restart every table's first run is a full pass (docs/verifier.md).
   */
  const marks = new Map<TableName, IncrementalMark>();

  async function verifyTable(table: TableName, runId: number, mode: VerifyMode): Promise<VerifyTableStatus> {
    // Read before anything is compared: every change it sees is compared by this run.
    const snapshot = await currentSnapshot(pool);
    const since = mode === "incremental" ? marks.get(table) : undefined;
    const { result, inFlight } = await compareAndRepair(table, runId, since);
    if (result.clean && !result.skipped) {
      marks.set(table, { snapshot, pending: inFlight });
      result.verifiedAsOf = snapshot;
    } else marks.delete(table);
    return result;
  }

  /** Compares one table (all, or what changed since `since`), repairs, and names the ids left in flight. */
  async function compareAndRepair(
    table: TableName,
    runId: number,
    since: IncrementalMark | undefined,
  ): Promise<{ result: VerifyTableStatus; inFlight: number[] }> {
    const { columns, pending } = await comparedColumns(pool, clickhouse, table);
    const pg = postgresSide(pool, table, columns);
    const ch = clickhouseSide(clickhouse, queries, table, columns);
    const result: VerifyTableStatus = {
      ...emptyTable(table),
      ...(pending.length > 0 ? { pendingColumns: pending } : {}),
    };
    status.phase = "checking";
    const options = {
      chunkIds: config.chunkIds,
      leafIds: config.leafIds,
      concurrency: config.concurrency,
      onChunk: checkStopped,
    };
    const { ids, stats, mode } = await tableDifferences({ pool, table, columns, pg, ch, options }, since);
    result.mode = mode;
    result.rangesChecked = stats.ranges;
    result.rowsChecked = stats.rows;
    const inFlight: number[] = [];
    if (ids.length > 0) {
      // Changes in flight land within moments; what still differs after the pause is drift.
      if (config.settleMs > 0) await sleep(config.settleMs);
      // Paused while it was being compared: its difference is the pause, not drift.
      const pausedSince = (await pausedNow()).get(table);
      if (pausedSince)
        return { result: { ...emptyTable(table), skipped: skipped(pausedSince) }, inFlight: [] };
      // Versions PostgreSQL never issued for their id go first: left in place they would outrank
      // the repair's and every later real change of the id (docs/verifier.md).
      const forged = await purgeForged(table, pg, ch, ids);
      // A purged id is re-published even when what remains looks right: its window makes the
      // reporter recount what the removed row may have been counted in.
      const plan = await planRepair(pg, ch, ids, new Set(forged.map((f) => f.id)));
      inFlight.push(...plan.inFlight);
      // An id may have both (a fact shown under another campaign: a tombstone, then the row).
      const drift = [...new Set([...plan.upserts, ...plan.tombstones, ...forged].map((r) => r.id))].sort(
        (a, b) => a - b,
      );
      result.driftFound = drift.length;
      result.sampleIds = drift.slice(0, SAMPLE);
      if (drift.length > 0) {
        status.phase = "repairing";
        status.repairing = { table, rows: drift.length };
        logger.warn("drift found; re-publishing the differing rows", {
          table,
          rows: drift.length,
          upserts: plan.upserts.length,
          tombstones: plan.tombstones.length,
          purged: forged.length,
          sampleIds: result.sampleIds,
        });
        result.rowsRepaired =
          forged.length +
          (await publishRepair(
            { pool, js, namespace: config.namespace, limits: config.limits, maxInFlight: config.maxInFlight },
            table,
            plan,
            runId,
          ));
        result.clean = await recheck(pg, ch, drift);
        status.repairing = undefined;
        if (!result.clean) logger.warn("repaired rows not equal yet; the next run checks again", { table });
      }
    }
    result.verifiedAt = new Date().toISOString();
    return { result, inFlight };
  }

  /** Removes the versions above PostgreSQL's among `ids` (forged.ts) and returns them. */
  async function purgeForged(
    table: TableName,
    pg: ReturnType<typeof postgresSide>,
    ch: ReturnType<typeof clickhouseSide>,
    ids: number[],
  ) {
    const forged = await forgedVersions(pg, ch, ids);
    if (forged.length > 0) {
      status.phase = "repairing";
      status.repairing = { table, rows: new Set(forged.map((f) => f.id)).size };
      logger.warn("versions above PostgreSQL's found; removing them", {
        table,
        rows: forged.length,
        sample: forged.slice(0, SAMPLE).map((f) => `${f.id}@${f.version}`),
      });
      await ch.purge(forged);
    }
    return forged;
  }

  /** Polls the repaired ids until ClickHouse shows PostgreSQL's rows (the loader applied them). */
  async function recheck(
    pg: ReturnType<typeof postgresSide>,
    ch: ReturnType<typeof clickhouseSide>,
    ids: number[],
  ): Promise<boolean> {
    const deadline = Date.now() + (config.recheckTimeoutMs ?? 30_000);
    for (;;) {
      const plan = await planRepair(pg, ch, ids);
      if (plan.upserts.length === 0 && plan.tombstones.length === 0) return true;
      if (Date.now() > deadline) return false;
      await sleep(100);
    }
  }

  const verifyReports = createReportCheck({
    pool,
    clickhouse,
    nc,
    queries,
    config,
    logger,
    checkStopped,
    onRepair: () => {
      status.phase = "repairing";
      status.repairing = undefined;
    },
  });

  async function run(mode: VerifyMode): Promise<VerifyCompletedEvent> {
    const startedAt = new Date();
    const runId = startedAt.getTime();
    const tables: VerifyTableStatus[] = [];
    const paused = await pausedNow();
    for (const table of TABLES) {
      const since = paused.get(table);
      if (since) {
        logger.info("verification skips a paused table", { table, pausedSince: since });
        tables.push({ ...emptyTable(table), skipped: skipped(since) });
        continue;
      }
      try {
        tables.push(await verifyTable(table, runId, mode));
      } catch (err) {
        checkStopped();
        marks.delete(table);
        logger.warn("verification of a table failed", { table, err });
        tables.push({ ...emptyTable(table), clean: false, error: (err as Error).message });
      }
      status.tables = TABLES.map(
        (t) => tables.find((r) => r.table === t) ?? status.tables.find((r) => r.table === t) ?? emptyTable(t),
      );
    }
    let reports: VerifyReportStatus | null;
    const pausedFacts = FACT_TABLES.filter((t) => paused.has(t));
    const skipReports = (why: string): VerifyReportStatus => ({
      verifiedAt: null,
      keysChecked: 0,
      driftFound: 0,
      campaignsRebuilt: 0,
      clean: true,
      skipped: why,
    });
    try {
      if (mode === "incremental")
        reports = skipReports("incremental run: the reports are compared by full passes");
      else if (pausedFacts.length > 0)
        reports = skipReports(
          `${pausedFacts.map((t) => `${t} ${skipped(paused.get(t) as string)}`).join(", ")}: the reports lag it on purpose`,
        );
      else reports = await verifyReports();
    } catch (err) {
      checkStopped();
      logger.warn("verification of the reports failed", { err });
      reports = {
        verifiedAt: null,
        keysChecked: 0,
        driftFound: 0,
        campaignsRebuilt: 0,
        clean: false,
        error: (err as Error).message,
      };
    }
    const finishedAt = new Date();
    const clean = tables.every((t) => t.clean && !t.error) && reports.clean;
    const event: VerifyCompletedEvent = {
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      mode,
      clean,
      tables,
      reports,
    };
    Object.assign(status, {
      phase: "idle",
      repairing: undefined,
      tables,
      reports,
      runs: status.runs + 1,
      lastRun: {
        startedAt: event.startedAt,
        finishedAt: event.finishedAt,
        durationMs: event.durationMs,
        clean,
      },
    });
    // Exact as of: everything compared and equal; a run that skipped a paused table is not that.
    if (clean && !partial(event)) status.exactAsOf = event.finishedAt;
    metrics?.record(event);
    nc.publish(subjects(config.namespace).verifyCompleted, verifyCompletedEvent.encode(event));
    const drift = tables.reduce((n, t) => n + t.driftFound, 0) + (reports.driftFound ?? 0);
    logger.info("verification finished", { mode, clean, drift, durationMs: event.durationMs });
    return event;
  }

  let runningMode: VerifyMode = "full";
  /**
   * Runs a verification now, or joins the one running when it compares at least as much (a full
   * pass asked for during an incremental run follows it).
   */
  function verify(mode: VerifyMode = "full"): Promise<VerifyCompletedEvent> {
    if (running && (runningMode === mode || runningMode === "full")) return running;
    if (running) return running.catch(() => undefined).then(() => verify(mode));
    runningMode = mode;
    running = run(mode).finally(() => {
      running = null;
      status.phase = "idle";
      status.repairing = undefined;
    });
    return running;
  }

  async function schedule() {
    // The first run soon after start (the dashboard's badge), then every interval.
    let delay = Math.min(config.intervalMs, 30_000);
    // Scheduled runs since the last full one: every `fullEvery`th is full (the first one too).
    let sinceFull = Number.POSITIVE_INFINITY;
    while (!stopped) {
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, delay);
        wake = resolve;
      });
      if (stopped) break;
      const mode = sinceFull + 1 >= (config.fullEvery ?? 12) ? "full" : "incremental";
      sinceFull = mode === "full" ? 0 : sinceFull + 1;
      await verify(mode).catch((err) => logger.warn("verification failed", { err }));
      delay = config.intervalMs;
    }
  }
  let wake: (() => void) | undefined;

  return {
    verify,
    status: (): VerifyStatus => structuredClone(status),
    /** Runs every `intervalMs` (the first run at most 30 s after start); 0: on demand only. */
    start() {
      if (!stopped || config.intervalMs === 0) return;
      stopped = false;
      stopping = false;
      loop = schedule();
    },
    async stop() {
      stopped = true;
      stopping = true;
      clearTimeout(timer);
      wake?.();
      await loop;
      await running?.catch(() => undefined);
    },
  };
}

export type Verifier = ReturnType<typeof createVerifier>;

/** A run that left a table or the reports out (paused, incremental): clean for what it compared, not exact. */
export const partial = (e: Pick<VerifyCompletedEvent, "tables" | "reports">) =>
  e.tables.some((t) => t.skipped !== undefined || t.mode === "incremental") ||
  e.reports?.skipped !== undefined;

/** The status when ClickHouse is not configured. */
export const disabledStatus = (reason: string): VerifyStatus => ({
  enabled: false,
  reason,
  phase: "idle",
  exactAsOf: null,
  lastRun: null,
  tables: [],
  reports: null,
  runs: 0,
});
