import { backoffMs, createBatchingConsumer, type Held, type Settle } from "@adpipe/shared/batching-consumer";
import type { StallWatch } from "@adpipe/shared/consumer-watchdog";
import type { Logger } from "@adpipe/shared/logger";
import { type LoadedEvent, loadedEvent } from "@adpipe/shared/messages/loaded";
import type { Deliveries, PullRequest } from "@adpipe/shared/nats-pull";
import type { JsMsg } from "nats";
import { INVALID_EVENT, type ReporterDeadLetters } from "./dead-letters.ts";
import { describeFailure, type Failure } from "./failure.ts";

export interface EventLoopOptions {
  /** One pull of the reporter's durable consumer (`durablePull` in shared/src/nats/nats-pull.ts). */
  pull(request: PullRequest & { fresh: boolean }): Promise<Deliveries>;
  /** Acknowledges an event, confirmed, through a consumer leader's election (`durableAck`). */
  ack?(msg: JsMsg, stopping: () => boolean): Promise<unknown>;
  /** The NATS server's max_payload plus room for headers: every pull has room for one event. */
  largestDeliveryBytes: number;
  /** The consumer's stall watchdog. */
  stall?: StallWatch;
  coalesceMs: number;
  maxBackoffMs: number;
  /** Held events are told "still working" this often (below the consumer's ack wait). */
  heartbeatMs?: number;
  logger: Logger;
  /** Rebuilds for a burst of events; resolves once the report rows are written. */
  handle(events: LoadedEvent[]): Promise<void>;
  /** Told after every attempt whether it worked, for /ready. */
  onOutcome(error: unknown): void;
  /** Deliveries of one event before it is set aside (JetStream's delivery count). */
  maxAttempts: number;
  deadLetters: ReporterDeadLetters;
  /** Events just set aside: the reports must be healed without them (a full rebuild). */
  onSetAside(events: LoadedEvent[], failure: Failure): void;
}

type Pending = Held<LoadedEvent>;

/** The delay before a failed rebuild's events come back: 100 ms doubled `failures` times, at most `maxBackoffMs`. */
export const retryDelayMs = (failures: number, maxBackoffMs: number) =>
  backoffMs(failures, 100, maxBackoffMs);

/** A failed batch: events delivered `maxAttempts` times are set aside, the others retried. */
export function splitExhausted<I extends { msg: { info: { deliveryCount: number } } }>(
  batch: I[],
  maxAttempts: number,
): { retried: I[]; exhausted: I[] } {
  const exhausted = batch.filter((p) => p.msg.info.deliveryCount >= maxAttempts);
  return { retried: batch.filter((p) => !exhausted.includes(p)), exhausted };
}

/**
 * Takes loaded events from the reporter's durable consumer, waits `coalesceMs` after the first
 * one so a burst becomes one rebuild, and acks the events only after the rebuild's inserts
 * succeeded: a crash in between redelivers them and the (idempotent) rebuild runs again.
 * A failed rebuild naks its events with a growing delay; an event delivered `maxAttempts` times
 * is set aside instead (dead-lettered with the reason), so one poison event cannot block the
 * reporter for good, and the reporter heals the reports with a full rebuild.
 */
export function createEventLoop(o: EventLoopOptions) {
  let failures = 0;
  const stats = { events: 0, rebuilds: 0, failures: 0, invalid: 0, set_aside: 0 };
  const backoff = (n: number) => retryDelayMs(n, o.maxBackoffMs);

  async function handle(batch: Pending[], settle: Settle): Promise<void> {
    try {
      await o.handle(batch.map((p) => p.value));
      await Promise.all(batch.map((p) => settle.ack(p.msg)));
      stats.events += batch.length;
      stats.rebuilds++;
      failures = 0;
      o.onOutcome(undefined);
    } catch (err) {
      failures++;
      stats.failures++;
      const wait = backoff(failures);
      const failure = describeFailure(err);
      o.onOutcome(err);
      const { retried, exhausted } = splitExhausted(batch, o.maxAttempts);
      o.logger.warn("rebuild failed; events will be redelivered", {
        ...failure,
        err,
        retryInMs: wait,
        events: retried.length,
        setAside: exhausted.length,
      });
      for (const p of retried) settle.nak(p.msg, wait);
      if (exhausted.length > 0) await setAside(exhausted, failure, wait, settle);
      if (!settle.stopping()) await Bun.sleep(wait);
    }
  }

  /**
   * An event that does not decode goes to `<ns>.dlq.reporter.<table>` (kind `invalid_message`,
   * listed by `GET /dead-letters`) and is then terminated; if it cannot be stored it is redelivered
   * after a pause and tried again.
   */
  async function setAsideInvalid(msg: JsMsg, err: unknown): Promise<void> {
    const table = msg.subject.split(".").at(-1) ?? "unknown";
    const error = `invalid loaded event: ${err instanceof Error ? err.message : String(err)}`;
    try {
      await o.deadLetters.put(msg, table, error, INVALID_EVENT);
      msg.term();
      o.logger.warn("invalid loaded event set aside", { seq: msg.seq, subject: msg.subject, err });
    } catch (putErr) {
      o.logger.warn("could not set aside an invalid loaded event; it will be redelivered", {
        seq: msg.seq,
        err: putErr,
      });
      msg.nak(backoff(1));
    }
  }

  async function setAside(items: Pending[], failure: Failure, wait: number, settle: Settle): Promise<void> {
    const done: Pending[] = [];
    for (const p of items) {
      try {
        await o.deadLetters.put(p.msg, p.value.table, failure.error);
        settle.term(p.msg);
        done.push(p);
      } catch (err) {
        // Not stored: it stays in JetStream and comes back (the next failure sets it aside again).
        o.logger.warn("could not set aside a loaded event; it will be redelivered", { seq: p.msg.seq, err });
        settle.nak(p.msg, wait);
      }
    }
    if (done.length === 0) return;
    stats.set_aside += done.length;
    o.logger.error(
      "loaded events set aside after repeated rebuild failures; a full rebuild heals the reports",
      {
        ...failure,
        attempts: o.maxAttempts,
        events: done.map((p) => ({ seq: p.msg.seq, table: p.value.table, batchIds: p.value.batchIds })),
      },
    );
    o.onSetAside(
      done.map((p) => p.value),
      failure,
    );
  }

  const consumer = createBatchingConsumer<LoadedEvent>({
    pull: o.pull,
    ack: o.ack,
    largestDeliveryBytes: o.largestDeliveryBytes,
    // Events are a few hundred bytes: a pull of this budget takes a burst whole.
    maxHeldBytes: 4 << 20,
    onPullError(err, failures) {
      if (failures === 1 || failures % 50 === 0)
        o.logger.warn("cannot pull loaded events; retrying", { err, failures });
    },
    stall: o.stall,
    decode(msg) {
      try {
        return loadedEvent.decode(msg.data);
      } catch (err) {
        // Never retried (the same bytes would fail again): set aside like a poison delta.
        stats.invalid++;
        void setAsideInvalid(msg, err);
        return undefined;
      }
    },
    coalesceMs: o.coalesceMs,
    // A long rebuild keeps its events; a reporter that died lets them go after the short ack wait.
    heartbeatMs: o.heartbeatMs ?? 5000,
    handle,
    onHandlerError: (err) => o.logger.error("event loop failed; events will be redelivered", { err }),
    unsettledDelayMs: backoff(1),
  });

  return {
    stats,
    start: consumer.start,
    /** Stops taking events, then finishes (or naks) what it holds. */
    stop: consumer.stop,
    /** The consumer watchdog's findings (for /ready, /status and /metrics). */
    health: consumer.health,
  };
}
