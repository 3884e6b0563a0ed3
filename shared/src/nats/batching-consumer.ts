import type { JsMsg } from "nats";
import { createStallWatch, type StallWatch } from "./consumer-watchdog.ts";
import type { Deliveries, PullRequest } from "./nats-pull.ts";

/** A delivery the consumer holds, with its decoded value. */
export interface Held<T> {
  msg: JsMsg;
  value: T;
  /** Counted against `maxBatchBytes` and `maxHeldBytes`. */
  bytes: number;
  arrivedAt: number;
}

/** How a handler settles each delivery of its batch; a delivery is settled at most once. */
export interface Settle {
  /**
   * Acks unless already settled, and waits for the server's confirmation; resolves (never
   * rejects) also when none came: the delivery is then redelivered and handled again.
   */
  ack(msg: JsMsg): Promise<unknown>;
  nak(msg: JsMsg, delayMs: number): void;
  term(msg: JsMsg): void;
  /** True once `stop()` was called: the handler should not wait long. */
  stopping(): boolean;
}

export interface BatchingConsumerOptions<T> {
  /**
   * One pull request (`fetchDeliveries` in nats-pull.ts); called again each time one ends.
   * `fresh` asks for a new consumer handle (after a failure or a stall).
   */
  pull(request: PullRequest & { fresh: boolean }): Promise<Deliveries>;
  /** A pull never asks for fewer bytes than this, so the largest message always fits. */
  largestDeliveryBytes: number;
  /**
   * How long one pull request waits on the server before it is renewed (default 1 s, nats.js's
   * minimum). A request held by a server that died, or by a consumer leader that lost its
   * leadership, is only replaced once it expires; so is a request of a process that died, which
   * the server may still hand a redelivery to. Short, so neither delays the work by much.
   */
  pullExpiresMs?: number;
  /**
   * Acknowledges one delivery and resolves once the server confirmed it, or once it gave up (the
   * delivery is then redelivered after the ack wait); never rejects. Default: `msg.ackAck()` once.
   * The services send it again through a consumer leader's election (`durableAck` in nats-pull.ts).
   */
  ack?(msg: JsMsg, stopping: () => boolean): Promise<unknown>;
  /** Told when a pull cannot be made or fails (the reader retries with a growing delay). */
  onPullError?(err: unknown, failures: number): void;
  /** The stall watchdog: nothing delivered while the server holds deliveries for us. */
  stall?: StallWatch;
  /** The value to hold, or undefined when the decoder dealt with the delivery (term, dead letter). */
  decode(msg: JsMsg): Promise<T | undefined> | T | undefined;
  /** Defaults to the body's length. */
  bytes?(msg: JsMsg, value: T): number;
  /** A batch is handed over once its oldest delivery is this old ... */
  coalesceMs: number;
  /** ... or once this many bytes are held; a batch carries at most this many (but at least one). */
  maxBatchBytes?: number;
  /** The reader waits while this many bytes are held (back-pressure); also each pull's budget. */
  maxHeldBytes: number;
  /** Hand over without waiting for the batch to fill (e.g. retrying after a failure). */
  hurry?(): boolean;
  /** Held and in-flight deliveries are told "still working" this often. */
  heartbeatMs: number;
  /** Settles each delivery through `settle`; anything left unsettled is nak'd. */
  handle(batch: Held<T>[], settle: Settle): Promise<void>;
  /** A handler that threw: its unsettled deliveries are nak'd with `unsettledDelayMs` after this. */
  onHandlerError?(err: unknown, batch: Held<T>[]): void;
  unsettledDelayMs: number;
}

export interface DueState {
  /** When the oldest held delivery arrived; undefined when nothing is held. */
  oldestArrivedAt: number | undefined;
  heldBytes: number;
  stopping: boolean;
  hurry: boolean;
}

/** Milliseconds until the held deliveries are due for hand-over: 0 now, undefined when none are held. */
export function msUntilDue(
  s: DueState,
  now: number,
  o: { coalesceMs: number; maxBatchBytes?: number },
): number | undefined {
  if (s.oldestArrivedAt === undefined) return undefined;
  if (s.stopping || s.hurry || s.heldBytes >= (o.maxBatchBytes ?? Number.POSITIVE_INFINITY)) return 0;
  return Math.max(0, o.coalesceMs - (now - s.oldestArrivedAt));
}

export const isDue = (s: DueState, now: number, o: { coalesceMs: number; maxBatchBytes?: number }) =>
  msUntilDue(s, now, o) === 0;

/** Takes from the front of `queue` up to `maxBytes` (always at least one item). */
export function takeBatch<I extends { bytes: number }>(queue: I[], maxBytes = Number.POSITIVE_INFINITY) {
  let bytes = 0;
  let n = 0;
  while (n < queue.length && (n === 0 || bytes + (queue[n] as I).bytes <= maxBytes)) {
    bytes += (queue[n] as I).bytes;
    n++;
  }
  return { batch: queue.splice(0, n), bytes };
}

/** Whether the reader must wait before taking more deliveries. */
export const mustHold = (heldBytes: number, maxHeldBytes: number, stopping: boolean) =>
  !stopping && heldBytes >= maxHeldBytes;

/** A pull's byte budget: the room left below `maxHeldBytes`, but never less than the largest delivery. */
export const pullBudget = (heldBytes: number, maxHeldBytes: number, largestDeliveryBytes: number) =>
  Math.max(maxHeldBytes - heldBytes, largestDeliveryBytes);

/** A pull that ends with nothing sooner than this was answered at once (a status, not an expiry). */
const QUICK_PULL_MS = 50;

/** `firstMs` doubled `n` times, at most `maxMs`. */
export const backoffMs = (n: number, firstMs: number, maxMs: number) =>
  Math.min(maxMs, firstMs * 2 ** Math.min(n, 20));

/** A promise that resolves at the next `notify()`, so waiters wake on events instead of polling. */
function createSignal() {
  let resolve = () => {};
  let next = new Promise<void>((r) => {
    resolve = r;
  });
  return {
    wait(timeoutMs?: number): Promise<void> {
      if (timeoutMs === undefined) return next;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((r) => {
        timer = setTimeout(r, timeoutMs);
      });
      return Promise.race([next, timeout]).finally(() => clearTimeout(timer));
    },
    notify(): void {
      resolve();
      next = new Promise<void>((r) => {
        resolve = r;
      });
    },
  };
}

/**
 * One durable consumer's deliveries handed over in batches: a reader pulls (one bounded request at
 * a time, its budget the room left below `maxHeldBytes`) and holds what arrives, a dispatcher wakes
 * on each arrival and hands the held deliveries over once the oldest is `coalesceMs` old or
 * `maxBatchBytes` are held, one batch at a time. Held and in-flight deliveries are kept alive with
 * `working()`, so the ack wait can stay short. A watchdog recreates a pull that receives nothing
 * while the server holds deliveries for it (`stall`). `stop()` stops taking deliveries, then hands
 * over what is held.
 */
export function createBatchingConsumer<T>(o: BatchingConsumerOptions<T>) {
  const queue: Held<T>[] = [];
  let heldBytes = 0;
  let current: Deliveries | undefined;
  let fresh = true;
  let stopping = false;
  let readerDone = false;
  let done: Promise<void> = Promise.resolve();
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  /** Deliveries of the running batch not yet settled. */
  const inFlight = new Set<JsMsg>();
  /** Notified on arrival, on hand-over and on stop. */
  const changed = createSignal();
  const watch = createWatch();

  const ackOnce = (msg: JsMsg) => msg.ackAck().catch(() => false);
  const settle: Settle = {
    ack: (msg) => (inFlight.delete(msg) ? (o.ack ?? ackOnce)(msg, () => stopping) : Promise.resolve()),
    nak: (msg, delayMs) => {
      if (inFlight.delete(msg)) msg.nak(delayMs);
    },
    term: (msg) => {
      if (inFlight.delete(msg)) msg.term();
    },
    stopping: () => stopping,
  };

  /** The stall watchdog's view of this reader; inert without `o.stall`. */
  function createWatch() {
    if (!o.stall) return undefined;
    return createStallWatch(o.stall, {
      recreate() {
        fresh = true;
        current?.stop();
      },
    });
  }

  async function hold(): Promise<void> {
    if (!mustHold(heldBytes, o.maxHeldBytes, stopping)) return;
    watch?.holding(true);
    while (mustHold(heldBytes, o.maxHeldBytes, stopping)) await changed.wait();
    watch?.holding(false);
  }

  async function take(msg: JsMsg): Promise<void> {
    watch?.delivered();
    const value = await o.decode(msg);
    if (value === undefined) return;
    const bytes = o.bytes ? o.bytes(msg, value) : msg.data.length;
    queue.push({ msg, value, bytes, arrivedAt: Date.now() });
    heldBytes += bytes;
    changed.notify();
  }

  async function read(): Promise<void> {
    let failures = 0;
    let emptyInARow = 0;
    try {
      while (!stopping) {
        await hold();
        if (stopping) break;
        try {
          const startedAt = Date.now();
          let got = 0;
          current = await o.pull({
            maxBytes: pullBudget(heldBytes, o.maxHeldBytes, o.largestDeliveryBytes),
            expiresMs: o.pullExpiresMs ?? 1000,
            fresh,
          });
          fresh = false;
          // stop() during the pull's set-up found nothing to stop: end this one now.
          if (stopping) current.stop();
          for await (const msg of current) {
            failures = 0;
            got++;
            await take(msg);
            await hold();
          }
          // A pull the server ends at once with nothing (a status reply) must not become a busy
          // loop of re-pulls, the way nats.js's consume() spun: wait a little more each time.
          emptyInARow = got === 0 && Date.now() - startedAt < QUICK_PULL_MS ? emptyInARow + 1 : 0;
          if (emptyInARow > 0 && !stopping) await changed.wait(backoffMs(emptyInARow - 1, 20, 2000));
        } catch (err) {
          if (stopping) break;
          failures++;
          fresh = true;
          watch?.pullFailed(err);
          o.onPullError?.(err, failures);
          await changed.wait(backoffMs(failures - 1, 100, 5000));
        } finally {
          current = undefined;
        }
      }
    } finally {
      readerDone = true;
      changed.notify();
    }
  }

  async function dispatch(): Promise<void> {
    while (!(readerDone && queue.length === 0)) {
      const state = {
        oldestArrivedAt: queue[0]?.arrivedAt,
        heldBytes,
        stopping,
        hurry: o.hurry?.() ?? false,
      };
      const wait = msUntilDue(state, Date.now(), o);
      if (wait !== 0) {
        await changed.wait(wait);
        continue;
      }
      const { batch, bytes } = takeBatch(queue, o.maxBatchBytes);
      heldBytes -= bytes;
      for (const item of batch) inFlight.add(item.msg);
      changed.notify();
      await o.handle(batch, settle).catch((err) => o.onHandlerError?.(err, batch));
      // Only deliveries not yet settled: an acked message is never nak'd.
      for (const item of batch) settle.nak(item.msg, o.unsettledDelayMs);
    }
  }

  return {
    async start(): Promise<void> {
      heartbeat = setInterval(() => {
        for (const p of queue) p.msg.working();
        for (const msg of inFlight) msg.working();
      }, o.heartbeatMs);
      watch?.start();
      done = Promise.all([read(), dispatch()]).then(() => {});
    },
    /** Stops taking deliveries, then hands over what is held. */
    async stop(): Promise<void> {
      stopping = true;
      watch?.stop();
      current?.stop();
      changed.notify();
      await done;
      clearInterval(heartbeat);
    },
    /** The watchdog's findings (stalled since, recoveries, pull errors); undefined without one. */
    health: () => watch?.health(),
  };
}
