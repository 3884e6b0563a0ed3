import { TABLES, type TableName } from "@adpipe/shared/contract";
import type { Logger } from "@adpipe/shared/logger";
import type { Pool } from "@adpipe/shared/pg";
import type { JetStreamClient } from "nats";
import { type Blocker, describeBlocker, findBlocker } from "./blocker.ts";
import type { ExtractorConfig } from "./config.ts";
import { type CycleHooks, extractTable, type TableResult } from "./cycle.ts";
import { lockTable, unlockTable } from "./lock.ts";
import type { ExtractorMetrics } from "./metrics.ts";
import { createWatermarkStore } from "./watermark-store.ts";

/** Room left in a message for the headers (ids, column lists) next to the body. */
export const HEADER_ROOM = 4096;

export interface ExtractorDeps {
  pool: Pool;
  js: JetStreamClient;
  /** The server's max_payload (`nc.info.max_payload`); bodies stay below it minus HEADER_ROOM. */
  maxPayload: number;
  config: Pick<
    ExtractorConfig,
    | "ADPIPE_NAMESPACE"
    | "EXTRACT_INTERVAL_MS"
    | "EXTRACT_MAX_BACKOFF_MS"
    | "EXTRACT_MAX_BATCH_BYTES"
    | "EXTRACT_MAX_BATCH_ROWS"
    | "EXTRACT_MAX_IN_FLIGHT"
  > &
    Partial<
      Pick<
        ExtractorConfig,
        | "EXTRACT_PUBLISH_TIMEOUT_MS"
        | "EXTRACT_BLOCKER_AFTER_MS"
        | "EXTRACT_SNAPSHOT_WORKERS"
        | "EXTRACT_SNAPSHOT_MIN_ROWS"
      >
    >;
  logger: Logger;
  hooks?: CycleHooks;
  metrics?: ExtractorMetrics;
}

export interface CycleReport {
  results: TableResult[];
}

/**
 * Runs extraction cycles on demand and on a schedule. Within one process cycles run one at a
 * time (HTTP, NATS and the schedule queue up behind each other); across processes the per-table
 * advisory lock decides, and a table another extractor holds is reported as skipped.
 */
export function createExtractor({ pool, js, maxPayload, config, logger, hooks, metrics }: ExtractorDeps) {
  const store = createWatermarkStore(pool);
  const maxBytes = Math.min(
    config.EXTRACT_MAX_BATCH_BYTES || Number.POSITIVE_INFINITY,
    maxPayload - HEADER_ROOM,
  );
  const cycleDeps = {
    pool,
    js,
    store,
    namespace: config.ADPIPE_NAMESPACE,
    limits: { maxBytes, maxRows: config.EXTRACT_MAX_BATCH_ROWS },
    maxInFlight: config.EXTRACT_MAX_IN_FLIGHT,
    publishTimeoutMs: config.EXTRACT_PUBLISH_TIMEOUT_MS ?? 20_000,
    snapshot: {
      workers: config.EXTRACT_SNAPSHOT_WORKERS ?? 1,
      minRows: config.EXTRACT_SNAPSHOT_MIN_ROWS ?? 200_000,
    },
    logger,
    hooks,
  };

  // The open transaction holding every window back, refreshed after each cycle.
  let blocker: Blocker | null = null;
  async function checkBlocker(): Promise<void> {
    try {
      const found = await findBlocker(pool, config.EXTRACT_BLOCKER_AFTER_MS ?? 30_000);
      // Once per transaction, with what to do about it.
      if (found && found.xid !== blocker?.xid)
        logger.warn("an open transaction holds the windows back", {
          ...found,
          todo: `no change after it is extracted until it ends: commit or roll it back, or end it with SELECT pg_terminate_backend(${found.pid})`,
        });
      blocker = found;
    } catch {
      // PostgreSQL is away: the cycle's own failure says so; keep the last answer.
    }
    metrics?.blocked(blocker?.age_seconds ?? 0);
  }

  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  };

  const extract = (table?: TableName): Promise<CycleReport> =>
    exclusive(async () => {
      const results = await Promise.all((table ? [table] : TABLES).map((t) => extractTable(cycleDeps, t)));
      metrics?.record(results);
      await checkBlocker();
      return { results };
    });

  const resync = (table: TableName) =>
    exclusive(async () => {
      const client = await pool.connect();
      try {
        await lockTable(client, table);
        try {
          await store.reset(table, client);
        } finally {
          await unlockTable(client, table);
        }
      } finally {
        client.release();
      }
      logger.info("watermark reset; the table is extracted again from the start", { table });
      return store.read(table);
    });

  /**
   * Holds or releases one table. The table's lock is taken first (waiting for a cycle of any
   * extractor in progress on it), so once this resolves no cycle publishes for a paused table:
   * its watermark stays, its changes wait in PostgreSQL; resumed, the next cycle reads them from
   * that watermark, exactly like any backlog.
   */
  const setPaused = (table: TableName, paused: boolean) =>
    exclusive(async () => {
      const client = await pool.connect();
      try {
        await lockTable(client, table);
        try {
          if (paused) await store.pause(table, client);
          else await store.resume(table, client);
        } finally {
          await unlockTable(client, table);
        }
      } finally {
        client.release();
      }
      const state = await store.read(table);
      metrics?.paused(table, state.pausedSince);
      logger.info(paused ? "table paused: not extracted until resumed" : "table resumed", {
        table,
        watermark: state.xid,
        pausedSince: state.pausedSince,
      });
      if (!paused) wake?.();
      return state;
    });

  let stopped = true;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  /** A commit was announced while a cycle ran: run the next one at once. */
  let changed = false;
  let backingOff = false;

  async function schedule() {
    let delay = config.EXTRACT_INTERVAL_MS;
    while (!stopped) {
      changed = false;
      const report = await extract().catch((err: unknown) => {
        logger.warn("extraction cycle failed", { err });
        return undefined;
      });
      const failed = !report || report.results.some((r) => r.status === "failed");
      // Back off while PostgreSQL or NATS is away; recover to the interval on the first success.
      delay = failed ? Math.min(delay * 2, config.EXTRACT_MAX_BACKOFF_MS) : config.EXTRACT_INTERVAL_MS;
      backingOff = failed;
      if (stopped) break;
      if (changed && !failed) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  return {
    extract,
    resync,
    pause: (table: TableName) => setPaused(table, true),
    resume: (table: TableName) => setPaused(table, false),
    watermarks: () => store.readAll(),
    /** For /ready: still ready, with a warning naming each paused table. */
    pausedWarning: async () => {
      const paused = await store.paused();
      if (paused.size === 0) return undefined;
      return { warning: `paused: ${[...paused].map(([t, since]) => `${t} since ${since}`).join(", ")}` };
    },
    /** The open transaction holding every window back (older than EXTRACT_BLOCKER_AFTER_MS), or null. */
    blocker: () => blocker,
    /** For /ready: still ready (a late commit is waited for, never skipped), with a warning naming it. */
    blockerWarning: async () => (blocker ? { warning: describeBlocker(blocker) } : undefined),
    /** Runs the next scheduled cycle now (NATS came back: no need to sit out a backoff). */
    wake: () => wake?.(),
    /**
     * A change committed (the LISTEN/NOTIFY wake-up): the next cycle runs now, or right after the
     * running one. Ignored while backing off after failures (the timer decides then).
     */
    nudge: () => {
      if (stopped || backingOff) return;
      changed = true;
      wake?.();
    },
    /** Starts the schedule: a cycle, then the interval, again. */
    start() {
      if (!stopped) return;
      stopped = false;
      loop = schedule();
    },
    /** Lets the running cycle finish, then stops the schedule. */
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      await queue;
    },
  };
}

export type Extractor = ReturnType<typeof createExtractor>;
