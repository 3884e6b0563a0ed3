import { createBatchingConsumer, type Settle } from "@adpipe/shared/batching-consumer";
import { streams, subjects, type TableName } from "@adpipe/shared/contract";
import type { Logger } from "@adpipe/shared/logger";
import { type DeltaMessage, decodeDelta } from "@adpipe/shared/messages/delta";
import { type LoadedEvent, loadedEvent } from "@adpipe/shared/messages/loaded";
import { secondsSince } from "@adpipe/shared/metrics";
import {
  durableAck,
  durablePull,
  durableStallWatch,
  largestDelivery,
  type PullFn,
} from "@adpipe/shared/nats-pull";
import { ELECTION_RETRY, publishThroughElection } from "@adpipe/shared/nats-retry";
import type { ClickHouseClient } from "@clickhouse/client";
import type { JetStreamClient, JetStreamManager, JsMsg } from "nats";
import { describe, insertBodies, isTransient } from "./clickhouse-sink.ts";
import type { DeadLetters } from "./dead-letters.ts";
import { groupForInsert } from "./delta-message.ts";
import { classifyInsertFailure, transientDelayMs } from "./insert-failure.ts";
import { buildLoadedEvent } from "./loaded-announcement.ts";
import type { LoaderMetrics } from "./metrics.ts";
import { recordLoaded } from "./progress.ts";
import { SchemaBlockedError, type SchemaSync } from "./schema-sync.ts";
import { createTableStats } from "./stats.ts";

export interface TableLoopOptions {
  table: TableName;
  namespace: string;
  js: JetStreamClient;
  /** For the stall watchdog's look at the consumer's backlog. */
  jsm?: JetStreamManager;
  clickhouse: ClickHouseClient;
  deadLetters: DeadLetters;
  logger: Logger;
  flushMs: number;
  maxInsertBytes: number;
  /** The NATS server's max_payload: a pull always has room for the largest delta. */
  maxPayload?: number;
  /** Nothing delivered for this long while the consumer holds deliveries: the pull is recreated. */
  stallMs?: number;
  maxAttempts: number;
  maxBackoffMs: number;
  metrics?: LoaderMetrics;
  /** Each INSERT carries an insert_deduplication_token made of its batch ids. */
  dedupTokens?: boolean;
  /** Fault injection for tests: runs after an insert succeeded and before its announcement. */
  afterInsert?: () => void;
  /** Held deliveries are told "still working" this often (below the consumer's ack wait). */
  heartbeatMs?: number;
  /** Fault injection for tests: wraps the table's pulls (to make one stall). */
  wrapPull?: (pull: PullFn) => PullFn;
  /** Told each time the watchdog recreates the table's stalled pull (metrics). */
  onStall?: (consumer: string) => void;
  /** Told after each announcement attempt (for /ready). */
  onAnnounce?: (error: unknown) => void;
  /** Follows PostgreSQL's columns in ClickHouse before an insert that carries new ones. */
  schema?: SchemaSync;
  /** Told when the table stops on a schema change ClickHouse cannot take, and when it flows again. */
  onBlocked?: (blocked: SchemaBlock | undefined, error?: unknown) => void;
}

/** Why a table's batches wait: ClickHouse cannot take its columns as PostgreSQL has them now. */
export interface SchemaBlock {
  since: string;
  message: string;
}

/** How often a blocked table's batches come back to try again. */
export const SCHEMA_RETRY_MS = 5000;

interface Pending {
  msg: JsMsg;
  delta: DeltaMessage;
}

/**
 * Loads one table's deltas: a reader takes deliveries from the table's durable consumer (bounded
 * prefetch), a flusher inserts what arrived within `flushMs` as one INSERT per target, records
 * the batches in `loaded_batches` and announces them on `<ns>.loaded.<table>` (together), and
 * only then acks them. A crash or a failed publish anywhere before the ack redelivers the batches: they are
 * inserted and announced again, which is harmless (versions decide, the event's msgID dedups).
 */
export function createTableLoop(o: TableLoopOptions) {
  const log = o.logger.child({ table: o.table });
  const stats = createTableStats();
  let transientFailures = 0;
  let blocked: SchemaBlock | undefined;

  const backoff = (n: number) => transientDelayMs(n, o.maxBackoffMs);

  async function deadLetter(
    msg: JsMsg,
    error: string,
    kind: "invalid_message" | "rejected_by_clickhouse",
    ack: (msg: JsMsg) => Promise<unknown>,
  ) {
    await o.deadLetters.put({
      subject: msg.subject,
      sequence: msg.seq,
      headers: msg.headers,
      body: msg.data,
      table: o.table,
      error,
      kind,
      attempts: msg.info.deliveryCount,
    });
    await ack(msg);
    stats.deadLettered++;
    o.metrics?.deadLetters.inc({ table: o.table, kind });
    log.warn("batch dead-lettered", { seq: msg.seq, error, kind, attempts: msg.info.deliveryCount });
  }

  async function rejected(item: Pending, err: unknown, settle: Settle): Promise<void> {
    const attempts = item.msg.info.deliveryCount;
    const failure = classifyInsertFailure(err, attempts, o);
    if (failure.action === "transient") {
      settle.nak(item.msg, backoff(transientFailures));
      return;
    }
    stats.errors.rejected++;
    o.metrics?.errors.inc({ table: o.table, kind: "rejected" });
    if (failure.action === "dead-letter")
      return deadLetter(item.msg, describe(err), "rejected_by_clickhouse", settle.ack);
    log.warn("ClickHouse rejected a batch; will retry", {
      batchId: item.delta.batchId,
      attempts,
      error: describe(err),
    });
    settle.nak(item.msg, failure.delayMs);
  }

  async function insert(target: string, columns: readonly string[], items: Pending[]) {
    const end = o.metrics?.insertSeconds.startTimer({ table: o.table });
    await insertBodies(
      o.clickhouse,
      target,
      columns,
      items.map((i) => i.delta.body),
      o.dedupTokens ? items.map((i) => i.delta.batchId) : undefined,
    );
    end?.();
    o.metrics?.insertRows.observe(
      { table: o.table },
      items.reduce((n, i) => n + i.delta.rows, 0),
    );
    o.afterInsert?.();
    // A large insert leaves its batches' bytes behind as garbage: collecting now keeps the peak
    // RSS near what the loader holds (prefetch + queue + one insert) through an initial load,
    // instead of letting the heap grow first (bench:load). Small steady-state inserts skip it.
    if (items.reduce((n, i) => n + i.delta.body.length, 0) >= o.maxInsertBytes / 4) Bun.gc(true);
  }

  /**
   * Makes ClickHouse ready for the group's columns. A change it cannot make (or may not: a
   * missing grant) stops the table: its batches go back to wait, in order, never dead-lettered.
   * Returns false when the group must not be inserted now.
   */
  async function prepare(group: { target: string; items: Pending[] }, settle: Settle): Promise<boolean> {
    try {
      await o.schema?.ensure(group.target, group.items[0]?.delta.schema);
    } catch (err) {
      if (!(err instanceof SchemaBlockedError) && isTransient(err)) throw err;
      const message = describe(err);
      if (blocked?.message !== message) {
        blocked = { since: new Date().toISOString(), message };
        log.error("table stopped: ClickHouse cannot take its columns", { error: message });
        o.onBlocked?.(blocked, err);
      }
      for (const item of group.items) settle.nak(item.msg, SCHEMA_RETRY_MS);
      return false;
    }
    if (blocked) {
      log.info("table flows again: ClickHouse takes its columns", { stoppedSince: blocked.since });
      blocked = undefined;
      o.onBlocked?.(undefined);
    }
    return true;
  }

  /**
   * One INSERT per target for the groups of a batch. After a transient failure (ClickHouse down)
   * the remaining groups are nak'd untried; a rejected group is retried one batch at a time.
   */
  async function insertGroups(
    batch: Pending[],
    settle: Settle,
  ): Promise<{ loaded: Pending[]; transient: unknown }> {
    const loaded: Pending[] = [];
    let transient: unknown;
    for (const group of groupForInsert(batch)) {
      if (transient) {
        for (const item of group.items) settle.nak(item.msg, backoff(transientFailures));
        continue;
      }
      try {
        if (!(await prepare(group, settle))) continue;
        await insert(group.target, group.columns, group.items);
        loaded.push(...group.items);
      } catch (err) {
        if (isTransient(err)) {
          transient = err;
          for (const item of group.items) settle.nak(item.msg, backoff(transientFailures + 1));
        } else if (group.items.length === 1) {
          await rejected(group.items[0] as Pending, err, settle);
        } else {
          // One bad batch fails the whole INSERT: load them one by one to find it.
          for (const item of group.items) {
            await insert(group.target, group.columns, [item]).then(
              () => loaded.push(item),
              (e) => rejected(item, e, settle),
            );
          }
        }
      }
    }
    return { loaded, transient };
  }

  /**
   * Records the inserted batches in loaded_batches and announces them; false (batches nak'd,
   * after a backoff wait) when either failed.
   */
  async function announce(loaded: Pending[], event: LoadedEvent, settle: Settle): Promise<boolean> {
    try {
      // The durable record (the reporter heals from it) and the event, both after the rows are
      // in and both before the acks; in either order each is safe, so they go out together
      // (one round trip less per insert): a failure of either redelivers the batches, and a
      // repeat of the other is harmless (same record key, same message id). The event is sent
      // again through an election of the events stream's leader (same msgID: stored once).
      await Promise.all([
        recordLoaded(
          o.clickhouse,
          o.table,
          loaded.map((i) => i.delta),
        ),
        publishThroughElection(
          o.js,
          subjects(o.namespace).loaded(o.table),
          loadedEvent.encode(event),
          { msgID: `loaded-${o.table}-${Bun.hash(event.batchIds.join(",")).toString(16)}` },
          ELECTION_RETRY,
        ),
      ]);
      o.onAnnounce?.(undefined);
      return true;
    } catch (err) {
      // Not acked: JetStream redelivers the batches, which are inserted and announced again.
      o.onAnnounce?.(err);
      stats.errors.announce++;
      o.metrics?.errors.inc({ table: o.table, kind: "announce" });
      transientFailures++;
      const wait = backoff(transientFailures);
      for (const i of loaded) settle.nak(i.msg, wait);
      log.warn("announcement failed; batches will be redelivered", {
        error: describe(err),
        retryInMs: wait,
      });
      await Bun.sleep(wait);
      return false;
    }
  }

  /** Counts an announced load in the stats and metrics. */
  function noteLoaded(loaded: Pending[], event: LoadedEvent): void {
    stats.recordLoad(event, loaded.length);
    stats.recordFreshness(loaded.map((i) => i.delta.committedBy));
    if (o.metrics) {
      const labels = { table: o.table };
      o.metrics.rows.inc(labels, event.rows);
      o.metrics.batches.inc(labels, loaded.length);
      o.metrics.inserts.inc(labels);
      o.metrics.events.inc(labels);
      const now = Date.now();
      for (const i of loaded) {
        o.metrics.lag.observe(labels, (now - i.msg.info.timestampNanos / 1e6) / 1000);
        if (i.delta.committedBy) o.metrics.freshness.observe(labels, secondsSince(i.delta.committedBy, now));
      }
    }
    log.debug("loaded", { batches: loaded.length, rows: event.rows, watermark: event.watermark });
  }

  async function flush(batch: Pending[], settle: Settle): Promise<void> {
    const { loaded, transient } = await insertGroups(batch, settle);
    if (loaded.length > 0) {
      const event = buildLoadedEvent(
        o.table,
        loaded.map((i) => i.delta),
        new Date(),
      );
      if (!(await announce(loaded, event, settle))) return;
      await Promise.all(loaded.map((i) => settle.ack(i.msg)));
      noteLoaded(loaded, event);
    }
    if (transient) {
      transientFailures++;
      stats.errors.transient++;
      o.metrics?.errors.inc({ table: o.table, kind: "transient" });
      const wait = backoff(transientFailures);
      log.warn("ClickHouse unavailable; retrying", { error: describe(transient), retryInMs: wait });
      await Bun.sleep(wait);
    } else if (loaded.length > 0) {
      transientFailures = 0;
    }
  }

  const stream = streams(o.namespace).delta;
  const durable = streams(o.namespace).loaderConsumer(o.table);
  const consumer = createBatchingConsumer<DeltaMessage>({
    pull: (o.wrapPull ?? ((p) => p))(durablePull(o.js, stream, durable)),
    ack: durableAck(o.js),
    largestDeliveryBytes: largestDelivery(o.maxPayload),
    onPullError(err, failures) {
      if (failures === 1 || failures % 50 === 0)
        log.warn("cannot pull deltas; retrying", { error: describe(err), failures });
    },
    stall:
      o.jsm &&
      durableStallWatch({
        jsm: o.jsm,
        stream,
        durable,
        afterMs: o.stallMs ?? 10_000,
        logger: log,
        onStall: () => o.onStall?.(durable),
      }),
    async decode(msg) {
      const parsed = decodeDelta(msg.headers, msg.data);
      if (parsed.ok) return parsed.delta;
      stats.errors.invalid++;
      o.metrics?.errors.inc({ table: o.table, kind: "invalid" });
      await deadLetter(msg, parsed.reason, "invalid_message", (m) => m.ackAck());
      return undefined;
    },
    coalesceMs: o.flushMs,
    maxBatchBytes: o.maxInsertBytes,
    // Back-pressure: hold the reader while two inserts' worth of bytes wait.
    maxHeldBytes: 2 * o.maxInsertBytes,
    // After a failure, retry what is held without waiting for a batch to fill.
    hurry: () => transientFailures > 0,
    // Deliveries held in the queue or in a running flush stay ours while we work on them: the ack
    // wait can then be short, so a loader that died holding batches lets them go within seconds.
    heartbeatMs: o.heartbeatMs ?? 3000,
    handle: (batch, settle) =>
      flush(
        batch.map((h) => ({ msg: h.msg, delta: h.value })),
        settle,
      ),
    // Only deliveries not yet acked or nak'd are nak'd: an acked message is never nak'd.
    onHandlerError: (err) => log.error("flush failed; batches will be redelivered", { err }),
    unsettledDelayMs: backoff(1),
  });

  return {
    table: o.table,
    stats,
    start: consumer.start,
    /** Stops taking deliveries, then inserts and acks what it holds. */
    stop: consumer.stop,
    /** The consumer watchdog's findings (for /ready, /status and /metrics). */
    health: consumer.health,
    /** Set while the table waits for a schema change ClickHouse cannot take. */
    schemaBlocked: () => blocked,
  };
}

export type TableLoop = ReturnType<typeof createTableLoop>;
