import { streams, subjects, type TableName } from "@adpipe/shared/contract";
import type { Logger } from "@adpipe/shared/logger";
import { type DeltaMessage, decodeDelta } from "@adpipe/shared/messages/delta";
import { type LoadedEvent, loadedEvent } from "@adpipe/shared/messages/loaded";
import type { ClickHouseClient } from "@clickhouse/client";
import type { ConsumerMessages, JetStreamClient, JsMsg } from "nats";
import { describe, insertBodies, isTransient } from "./clickhouse-sink.ts";
import type { DeadLetters } from "./dead-letters.ts";
import { groupForInsert, maxWatermark, mergeWindows } from "./delta-message.ts";
import type { LoaderMetrics } from "./metrics.ts";
import { recordLoaded } from "./progress.ts";
import { createTableStats } from "./stats.ts";

export interface TableLoopOptions {
  table: TableName;
  namespace: string;
  js: JetStreamClient;
  clickhouse: ClickHouseClient;
  deadLetters: DeadLetters;
  logger: Logger;
  flushMs: number;
  maxInsertBytes: number;
  maxAttempts: number;
  maxBackoffMs: number;
  metrics?: LoaderMetrics;
  /** Each INSERT carries an insert_deduplication_token made of its batch ids. */
  dedupTokens?: boolean;
  /** Fault injection for tests: runs after an insert succeeded and before its announcement. */
  afterInsert?: () => void;
  /** Held deliveries are told "still working" this often (below the consumer's ack wait). */
  heartbeatMs?: number;
  /** Told after each announcement attempt (for /ready). */
  onAnnounce?: (error: unknown) => void;
}

interface Pending {
  msg: JsMsg;
  delta: DeltaMessage;
  arrivedAt: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Loads one table's deltas: a reader takes deliveries from the table's durable consumer (bounded
 * prefetch), a flusher inserts what arrived within `flushMs` as one INSERT per target, records
 * the batches in `loaded_batches`, announces them on `<ns>.loaded.<table>` and only then acks
 * them. A crash or a failed publish anywhere before the ack redelivers the batches: they are
 * inserted and announced again, which is harmless (versions decide, the event's msgID dedups).
 */
export function createTableLoop(o: TableLoopOptions) {
  const log = o.logger.child({ table: o.table });
  const stats = createTableStats();
  const queue: Pending[] = [];
  let queuedBytes = 0;
  let messages: ConsumerMessages | undefined;
  let stopping = false;
  let readerDone = false;
  let transientFailures = 0;
  let done: Promise<void> = Promise.resolve();
  /** Deliveries taken off the queue by the running flush, until each is acked or nak'd. */
  const inFlight = new Set<JsMsg>();

  const backoff = (n: number) => Math.min(o.maxBackoffMs, 250 * 2 ** Math.min(n, 20));

  /** Runs `fn` (an ack or nak) once per delivery of the running flush; later calls do nothing. */
  function settle(msg: JsMsg, fn: () => unknown): void {
    if (inFlight.delete(msg)) fn();
  }
  const nak = (msg: JsMsg, delayMs: number) => settle(msg, () => msg.nak(delayMs));

  async function deadLetter(msg: JsMsg, error: string, kind: "invalid_message" | "rejected_by_clickhouse") {
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
    inFlight.delete(msg);
    await msg.ackAck();
    stats.deadLettered++;
    o.metrics?.deadLetters.inc({ table: o.table, kind });
    log.warn("batch dead-lettered", { seq: msg.seq, error, kind, attempts: msg.info.deliveryCount });
  }

  async function rejected(item: Pending, err: unknown): Promise<void> {
    if (isTransient(err)) {
      nak(item.msg, backoff(transientFailures));
      return;
    }
    stats.errors.rejected++;
    o.metrics?.errors.inc({ table: o.table, kind: "rejected" });
    const attempts = item.msg.info.deliveryCount;
    if (attempts >= o.maxAttempts) return deadLetter(item.msg, describe(err), "rejected_by_clickhouse");
    log.warn("ClickHouse rejected a batch; will retry", {
      batchId: item.delta.batchId,
      attempts,
      error: describe(err),
    });
    nak(item.msg, Math.min(o.maxBackoffMs, 1000 * 2 ** (attempts - 1)));
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
  }

  async function flush(batch: Pending[]): Promise<void> {
    const loaded: Pending[] = [];
    let transient: unknown;
    for (const group of groupForInsert(batch)) {
      if (transient) {
        for (const item of group.items) nak(item.msg, backoff(transientFailures));
        continue;
      }
      try {
        await insert(group.target, group.columns, group.items);
        loaded.push(...group.items);
      } catch (err) {
        if (isTransient(err)) {
          transient = err;
          for (const item of group.items) nak(item.msg, backoff(transientFailures + 1));
        } else if (group.items.length === 1) {
          await rejected(group.items[0] as Pending, err);
        } else {
          // One bad batch fails the whole INSERT: load them one by one to find it.
          for (const item of group.items) {
            await insert(group.target, group.columns, [item]).then(
              () => loaded.push(item),
              (e) => rejected(item, e),
            );
          }
        }
      }
    }
    if (loaded.length > 0) {
      const event: LoadedEvent = {
        table: o.table,
        batchIds: loaded.map((i) => i.delta.batchId),
        kinds: [...new Set(loaded.map((i) => i.delta.kind))],
        rows: loaded.reduce((n, i) => n + i.delta.rows, 0),
        watermark: maxWatermark(loaded.map((i) => i.delta.watermarkTo)),
        windows: mergeWindows(loaded.map((i) => ({ from: i.delta.watermarkFrom, to: i.delta.watermarkTo }))),
        loadedAt: new Date().toISOString(),
      };
      try {
        // Durable progress first (the reporter heals from it), then the event, then the acks.
        await recordLoaded(
          o.clickhouse,
          o.table,
          loaded.map((i) => i.delta),
        );
        await o.js.publish(subjects(o.namespace).loaded(o.table), loadedEvent.encode(event), {
          msgID: `loaded-${o.table}-${Bun.hash(event.batchIds.join(",")).toString(16)}`,
        });
        o.onAnnounce?.(undefined);
      } catch (err) {
        // Not acked: JetStream redelivers the batches, which are inserted and announced again.
        o.onAnnounce?.(err);
        stats.errors.announce++;
        o.metrics?.errors.inc({ table: o.table, kind: "announce" });
        transientFailures++;
        const wait = backoff(transientFailures);
        for (const i of loaded) nak(i.msg, wait);
        log.warn("announcement failed; batches will be redelivered", {
          error: describe(err),
          retryInMs: wait,
        });
        await sleep(wait);
        return;
      }
      await Promise.all(
        loaded.map((i) => {
          inFlight.delete(i.msg);
          return i.msg.ackAck();
        }),
      );
      stats.recordLoad(event, loaded.length);
      if (o.metrics) {
        const labels = { table: o.table };
        o.metrics.rows.inc(labels, event.rows);
        o.metrics.batches.inc(labels, loaded.length);
        o.metrics.inserts.inc(labels);
        o.metrics.events.inc(labels);
        const now = Date.now();
        for (const i of loaded) o.metrics.lag.observe(labels, (now - i.msg.info.timestampNanos / 1e6) / 1000);
      }
      log.debug("loaded", { batches: loaded.length, rows: event.rows, watermark: event.watermark });
    }
    if (transient) {
      transientFailures++;
      stats.errors.transient++;
      o.metrics?.errors.inc({ table: o.table, kind: "transient" });
      const wait = backoff(transientFailures);
      log.warn("ClickHouse unavailable; retrying", { error: describe(transient), retryInMs: wait });
      await sleep(wait);
    } else if (loaded.length > 0) {
      transientFailures = 0;
    }
  }

  async function read(): Promise<void> {
    try {
      for await (const msg of messages as ConsumerMessages) {
        const parsed = decodeDelta(msg.headers, msg.data);
        if (!parsed.ok) {
          stats.errors.invalid++;
          o.metrics?.errors.inc({ table: o.table, kind: "invalid" });
          await deadLetter(msg, parsed.reason, "invalid_message");
          continue;
        }
        queue.push({ msg, delta: parsed.delta, arrivedAt: Date.now() });
        queuedBytes += msg.data.length;
        // Back-pressure: hold the reader while two inserts' worth of bytes wait.
        while (queuedBytes >= 2 * o.maxInsertBytes && !stopping) await sleep(5);
      }
    } finally {
      readerDone = true;
    }
  }

  async function flushLoop(): Promise<void> {
    while (!(readerDone && queue.length === 0)) {
      if (queue.length === 0) {
        await sleep(5);
        continue;
      }
      const first = queue[0] as Pending;
      const age = Date.now() - first.arrivedAt;
      const due = stopping || queuedBytes >= o.maxInsertBytes || age >= o.flushMs || transientFailures > 0;
      if (!due) {
        await sleep(Math.min(20, Math.max(1, o.flushMs - age)));
        continue;
      }
      const batch: Pending[] = [];
      let bytes = 0;
      while (
        queue.length > 0 &&
        (batch.length === 0 || bytes + (queue[0] as Pending).delta.body.length <= o.maxInsertBytes)
      ) {
        const item = queue.shift() as Pending;
        bytes += item.delta.body.length;
        batch.push(item);
      }
      queuedBytes -= bytes;
      for (const item of batch) inFlight.add(item.msg);
      await flush(batch).catch((err) => {
        // Only deliveries not yet acked or nak'd: an acked message is never nak'd.
        log.error("flush failed; batches will be redelivered", { err });
        for (const item of batch) nak(item.msg, backoff(1));
      });
      // Anything left unsettled (cannot happen unless a branch above forgot it) comes back later.
      for (const item of batch) nak(item.msg, backoff(1));
    }
  }

  // Deliveries held in the queue or in a running flush stay ours while we work on them: the ack
  // wait can then be short, so a loader that died holding batches lets them go within seconds.
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const beat = () => {
    for (const p of queue) p.msg.working();
    for (const msg of inFlight) msg.working();
  };

  return {
    table: o.table,
    stats,
    async start(): Promise<void> {
      heartbeat = setInterval(beat, o.heartbeatMs ?? 3000);
      const consumer = await o.js.consumers.get(
        streams(o.namespace).delta,
        streams(o.namespace).loaderConsumer(o.table),
      );
      messages = await consumer.consume({ max_bytes: o.maxInsertBytes });
      done = Promise.all([read(), flushLoop()]).then(() => {});
    },
    /** Stops taking deliveries, then inserts and acks what it holds. */
    async stop(): Promise<void> {
      stopping = true;
      messages?.stop();
      await done;
      clearInterval(heartbeat);
    },
  };
}

export type TableLoop = ReturnType<typeof createTableLoop>;
