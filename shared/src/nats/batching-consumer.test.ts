import { expect, test } from "bun:test";
import { waitFor } from "../config/testing.ts";
import {
  type BatchingConsumerOptions,
  backoffMs,
  createBatchingConsumer,
  isDue,
  msUntilDue,
  mustHold,
  pullBudget,
  takeBatch,
} from "./batching-consumer.ts";
import { type FakeMsg, fakeDeliveries, fakeMsg } from "./fake-deliveries.ts";

const idle = { oldestArrivedAt: undefined, heldBytes: 0, stopping: false, hurry: false };
const held = (arrivedAt: number, heldBytes = 10) => ({ ...idle, oldestArrivedAt: arrivedAt, heldBytes });
const o = { coalesceMs: 100, maxBatchBytes: 1000 };

test("nothing held: not due, and no deadline to wait for (only an arrival wakes the dispatcher)", () => {
  expect(msUntilDue(idle, 5000, o)).toBeUndefined();
  expect(isDue(idle, 5000, o)).toBe(false);
  expect(msUntilDue({ ...idle, stopping: true, hurry: true }, 5000, o)).toBeUndefined();
});

test("held deliveries are due once the oldest is coalesceMs old; until then the wait is what remains", () => {
  expect(msUntilDue(held(1000), 1000, o)).toBe(100);
  expect(msUntilDue(held(1000), 1060, o)).toBe(40);
  expect(msUntilDue(held(1000), 1100, o)).toBe(0);
  expect(msUntilDue(held(1000), 9999, o)).toBe(0);
  expect(isDue(held(1000), 1099, o)).toBe(false);
  expect(isDue(held(1000), 1100, o)).toBe(true);
});

test("a full batch's worth of bytes, stopping or hurrying hands over at once", () => {
  expect(isDue(held(1000, 999), 1000, o)).toBe(false);
  expect(isDue(held(1000, 1000), 1000, o)).toBe(true);
  expect(isDue({ ...held(1000), stopping: true }, 1000, o)).toBe(true);
  expect(isDue({ ...held(1000), hurry: true }, 1000, o)).toBe(true);
  expect(isDue(held(1000, 1e9), 1000, { coalesceMs: 100 })).toBe(false);
});

test("takeBatch takes from the front up to maxBytes, but always at least one item", () => {
  const items = (...sizes: number[]) => sizes.map((bytes, i) => ({ i, bytes }));
  const queue = items(400, 500, 200, 50);
  const first = takeBatch(queue, 1000);
  expect(first.batch.map((x) => x.i)).toEqual([0, 1]);
  expect(first.bytes).toBe(900);
  expect(queue.map((x) => x.i)).toEqual([2, 3]);

  const big = items(5000, 10);
  expect(takeBatch(big, 1000).batch.map((x) => x.bytes)).toEqual([5000]);
  expect(big).toHaveLength(1);

  const all = items(1, 2, 3);
  expect(takeBatch(all)).toEqual({ batch: items(1, 2, 3), bytes: 6 });
  expect(takeBatch([], 10)).toEqual({ batch: [], bytes: 0 });
  expect(takeBatch(items(600, 400), 1000).bytes).toBe(1000);
});

test("the reader is held while maxHeldBytes are held, never while stopping", () => {
  expect(mustHold(1999, 2000, false)).toBe(false);
  expect(mustHold(2000, 2000, false)).toBe(true);
  expect(mustHold(5000, 2000, true)).toBe(false);
});

test("a pull asks for the room left below maxHeldBytes, but always enough for the largest delivery", () => {
  expect(pullBudget(0, 32_000, 1_100)).toBe(32_000);
  expect(pullBudget(31_500, 32_000, 1_100)).toBe(1_100);
  expect(pullBudget(40_000, 32_000, 1_100)).toBe(1_100);
});

test("backoffMs doubles from firstMs and stops at maxMs", () => {
  expect([0, 1, 2, 3].map((n) => backoffMs(n, 250, 1500))).toEqual([250, 500, 1000, 1500]);
  expect(backoffMs(1000, 100, 30_000)).toBe(30_000);
});

/** A helper over fake deliveries whose handler runs `handle` and records each batch. */
function fakeConsumer(
  options: Partial<BatchingConsumerOptions<string>>,
  handle: BatchingConsumerOptions<string>["handle"] = async (batch, settle) => {
    for (const h of batch) await settle.ack(h.msg);
  },
) {
  const deliveries = fakeDeliveries();
  const batches: string[][] = [];
  const helper = createBatchingConsumer<string>({
    pull: deliveries.pull,
    largestDeliveryBytes: 1,
    maxHeldBytes: 1 << 30,
    decode: (msg) => msg.string(),
    coalesceMs: 10,
    heartbeatMs: 5,
    unsettledDelayMs: 7,
    ...options,
    handle: (batch, settle) => {
      batches.push(batch.map((h) => h.value));
      return handle(batch, settle);
    },
  });
  return { helper, deliveries, batches };
}

test("a delivery is settled at most once; what the handler leaves unsettled, or throws over, is nak'd", async () => {
  const errors: unknown[] = [];
  const c = fakeConsumer({ onHandlerError: (err) => errors.push(err) }, async (batch, settle) => {
    const [a, b] = batch.map((h) => h.msg);
    await settle.ack(a as FakeMsg);
    await settle.ack(a as FakeMsg);
    settle.nak(a as FakeMsg, 1);
    settle.term(b as FakeMsg);
    settle.nak(b as FakeMsg, 1);
    if (batch.length > 2) throw new Error("handler failed");
  });
  await c.helper.start();
  const msgs = ["a", "b", "c", "d"].map((v, i) => fakeMsg(v, { seq: i + 1 }));
  c.deliveries.deliver(...msgs);
  await waitFor(() => msgs.every((m) => m.outcomes.length > 0), { timeoutMs: 5000, what: "settled" });
  await c.helper.stop();
  expect(msgs.map((m) => m.outcomes)).toEqual([["ack"], ["term"], ["nak 7"], ["nak 7"]]);
  expect(errors).toHaveLength(1);
});

test("back-pressure holds the reader on a signal; stop hands over what is held", async () => {
  let release = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const c = fakeConsumer({ coalesceMs: 60_000, maxBatchBytes: 2, maxHeldBytes: 2 }, async (batch, settle) => {
    await gate;
    for (const h of batch) await settle.ack(h.msg);
  });
  await c.helper.start();
  const msgs = ["a", "b", "c", "d", "e"].map((v, i) => fakeMsg(v, { seq: i + 1 }));
  c.deliveries.deliver(...msgs);
  // The first pair is in flight (its bytes filled a batch), the second pair holds the reader.
  await waitFor(() => c.batches.length === 1 && msgs[3]?.workings, { timeoutMs: 5000, what: "held" });
  expect(c.batches).toEqual([["a", "b"]]);
  expect(msgs[0]?.workings).toBeGreaterThan(0);
  expect(msgs[4]?.workings).toBe(0);
  release();
  await waitFor(() => c.batches.length === 2, { timeoutMs: 5000, what: "the second pair" });
  // "e" alone is not due for a minute; stopping hands it over at once.
  await c.helper.stop();
  expect(c.batches).toEqual([["a", "b"], ["c", "d"], ["e"]]);
  expect(msgs.map((m) => m.outcomes)).toEqual(msgs.map(() => ["ack"]));
});
