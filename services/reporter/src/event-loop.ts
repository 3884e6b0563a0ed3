import type { Logger } from "@adpipe/shared/logger";
import { type LoadedEvent, loadedEvent } from "@adpipe/shared/messages/loaded";
import type { Consumer, ConsumerMessages, JsMsg } from "nats";
import type { ReporterDeadLetters } from "./dead-letters.ts";
import { describeFailure, type Failure } from "./failure.ts";

export interface EventLoopOptions {
  consumer: Consumer;
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

interface Pending {
  msg: JsMsg;
  event: LoadedEvent;
  arrivedAt: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes loaded events from the reporter's durable consumer, waits `coalesceMs` after the first
 * one so a burst becomes one rebuild, and acks the events only after the rebuild's inserts
 * succeeded: a crash in between redelivers them and the (idempotent) rebuild runs again.
 * A failed rebuild naks its events with a growing delay; an event delivered `maxAttempts` times
 * is set aside instead (dead-lettered with the reason), so one poison event cannot block the
 * reporter for good, and the reporter heals the reports with a full rebuild.
 */
export function createEventLoop(o: EventLoopOptions) {
  const queue: Pending[] = [];
  let messages: ConsumerMessages | undefined;
  let stopping = false;
  let readerDone = false;
  let failures = 0;
  let done: Promise<void> = Promise.resolve();
  let held: Pending[] = [];
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const stats = { events: 0, rebuilds: 0, failures: 0, invalid: 0, set_aside: 0 };

  const backoff = (n: number) => Math.min(o.maxBackoffMs, 100 * 2 ** Math.min(n, 20));

  async function read(): Promise<void> {
    try {
      for await (const msg of messages as ConsumerMessages) {
        let event: LoadedEvent;
        try {
          event = loadedEvent.decode(msg.data);
        } catch (err) {
          // Never retried: the same bytes would fail again.
          stats.invalid++;
          o.logger.warn("invalid loaded event terminated", { seq: msg.seq, subject: msg.subject, err });
          msg.term();
          continue;
        }
        queue.push({ msg, event, arrivedAt: Date.now() });
      }
    } finally {
      readerDone = true;
    }
  }

  async function dispatch(): Promise<void> {
    while (!(readerDone && queue.length === 0)) {
      const first = queue[0];
      if (!first) {
        await sleep(5);
        continue;
      }
      const age = Date.now() - first.arrivedAt;
      if (!stopping && age < o.coalesceMs) {
        await sleep(Math.min(20, o.coalesceMs - age));
        continue;
      }
      const batch = queue.splice(0, queue.length);
      held = batch;
      try {
        await o.handle(batch.map((p) => p.event));
        await Promise.all(batch.map((p) => p.msg.ackAck()));
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
        const exhausted = batch.filter((p) => p.msg.info.deliveryCount >= o.maxAttempts);
        const retried = batch.filter((p) => !exhausted.includes(p));
        o.logger.warn("rebuild failed; events will be redelivered", {
          ...failure,
          err,
          retryInMs: wait,
          events: retried.length,
          setAside: exhausted.length,
        });
        for (const p of retried) p.msg.nak(wait);
        if (exhausted.length > 0) await setAside(exhausted, failure, wait);
        if (!stopping) await sleep(wait);
      }
      held = [];
    }
  }

  async function setAside(items: Pending[], failure: Failure, wait: number): Promise<void> {
    const done: Pending[] = [];
    for (const p of items) {
      try {
        await o.deadLetters.put(p.msg, p.event.table, failure.error);
        p.msg.term();
        done.push(p);
      } catch (err) {
        // Not stored: it stays in JetStream and comes back (the next failure sets it aside again).
        o.logger.warn("could not set aside a loaded event; it will be redelivered", { seq: p.msg.seq, err });
        p.msg.nak(wait);
      }
    }
    if (done.length === 0) return;
    stats.set_aside += done.length;
    o.logger.error(
      "loaded events set aside after repeated rebuild failures; a full rebuild heals the reports",
      {
        ...failure,
        attempts: o.maxAttempts,
        events: done.map((p) => ({ seq: p.msg.seq, table: p.event.table, batchIds: p.event.batchIds })),
      },
    );
    o.onSetAside(
      done.map((p) => p.event),
      failure,
    );
  }

  return {
    stats,
    async start(): Promise<void> {
      messages = await o.consumer.consume({ max_messages: 1000 });
      // A long rebuild keeps its events; a reporter that died lets them go after the short ack wait.
      heartbeat = setInterval(() => {
        for (const p of held) p.msg.working();
        for (const p of queue) p.msg.working();
      }, o.heartbeatMs ?? 5000);
      done = Promise.all([read(), dispatch()]).then(() => {});
    },
    /** Stops taking events, then finishes (or naks) what it holds. */
    async stop(): Promise<void> {
      stopping = true;
      messages?.stop();
      await done;
      clearInterval(heartbeat);
    },
  };
}
