import { expect, test } from "bun:test";
import { fakeDeliveries, fakeMsg } from "@adpipe/shared/fake-deliveries";
import { createLogger } from "@adpipe/shared/logger";
import { type LoadedEvent, loadedEvent } from "@adpipe/shared/messages/loaded";
import { waitFor } from "@adpipe/shared/testing";
import type { ReporterDeadLetters } from "./dead-letters.ts";
import { createEventLoop, retryDelayMs, splitExhausted } from "./event-loop.ts";

const at = (deliveryCount: number) => ({ msg: { info: { deliveryCount } } });

test("splitExhausted sets aside the events delivered maxAttempts times and retries the others", () => {
  const batch = [at(1), at(5), at(4), at(6)];
  const { retried, exhausted } = splitExhausted(batch, 5);
  expect(retried).toEqual([at(1), at(4)]);
  expect(exhausted).toEqual([at(5), at(6)]);
  expect(splitExhausted([], 5)).toEqual({ retried: [], exhausted: [] });
});

test("retryDelayMs doubles from 200 ms after the first failure up to maxBackoffMs", () => {
  expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, 1000))).toEqual([200, 400, 800, 1000, 1000]);
});

const event = (table: LoadedEvent["table"], batchId: string): LoadedEvent => ({
  table,
  batchIds: [batchId],
  kinds: ["upsert"],
  rows: 1,
  watermark: "10",
  windows: [{ from: "1", to: "10" }],
  loadedAt: new Date().toISOString(),
});

/** An event loop over fake deliveries: `fail` decides whether a rebuild throws. */
function loop({ fail = false, maxAttempts = 3, deadLettersDown = false } = {}) {
  const deliveries = fakeDeliveries();
  const handled: LoadedEvent[][] = [];
  const dead: string[] = [];
  const setAside: LoadedEvent[] = [];
  const outcomes: unknown[] = [];
  const logs: string[] = [];
  const l = createEventLoop({
    pull: deliveries.pull,
    largestDeliveryBytes: 1 << 20,
    coalesceMs: 30,
    maxBackoffMs: 20,
    heartbeatMs: 10,
    logger: createLogger("event-loop-test", "warn", {}, (line) => logs.push(JSON.parse(line).msg)),
    async handle(events) {
      handled.push(events);
      if (fail) throw new Error("rebuild failed");
    },
    onOutcome: (err) => outcomes.push(err),
    maxAttempts,
    deadLetters: {
      put: async (_msg, table, error, kind) => {
        if (deadLettersDown) throw new Error("dead-letter stream unreachable");
        dead.push(`${table}: ${kind ?? "rebuild_failed"}: ${error}`);
      },
    } as ReporterDeadLetters,
    onSetAside: (events) => setAside.push(...events),
  });
  return { l, deliveries, handled, dead, setAside, outcomes, logs };
}

test("a burst becomes one rebuild, acked after it; an invalid event is set aside as a dead letter, never handed over", async () => {
  const t = loop();
  await t.l.start();
  const msgs = [event("campaign", "b1"), event("clicks", "b2")].map((e, i) =>
    fakeMsg(loadedEvent.encode(e), { seq: i + 1 }),
  );
  const bad = fakeMsg("not json", { seq: 3, subject: "ns.loaded.clicks" });
  t.deliveries.deliver(msgs[0] as (typeof msgs)[0], bad, msgs[1] as (typeof msgs)[0]);
  await waitFor(() => msgs.every((m) => m.outcomes.length > 0) && bad.outcomes.length > 0, {
    timeoutMs: 5000,
    what: "acks and the dead letter",
  });
  await t.l.stop();
  expect(t.handled.map((b) => b.map((e) => e.batchIds[0]))).toEqual([["b1", "b2"]]);
  expect(msgs.map((m) => m.outcomes)).toEqual([["ack"], ["ack"]]);
  expect(bad.outcomes).toEqual(["term"]);
  expect(t.dead).toHaveLength(1);
  expect(t.dead[0]).toStartWith("clicks: invalid_message: invalid loaded event: ");
  expect(t.l.stats).toEqual({ events: 2, rebuilds: 1, failures: 0, invalid: 1, set_aside: 0 });
  expect(t.outcomes).toEqual([undefined]);
  expect(t.logs).toEqual(["invalid loaded event set aside"]);
});

test("an invalid event that cannot be stored as a dead letter comes back later; nothing is lost", async () => {
  const t = loop({ deadLettersDown: true });
  await t.l.start();
  const bad = fakeMsg("{}", { seq: 1, subject: "ns.loaded.impressions" });
  t.deliveries.deliver(bad);
  await waitFor(() => bad.outcomes.length > 0, { timeoutMs: 5000, what: "the redelivery" });
  await t.l.stop();
  expect(bad.outcomes).toEqual([`nak ${retryDelayMs(1, 20)}`]);
  expect(t.dead).toEqual([]);
  expect(t.logs).toEqual(["could not set aside an invalid loaded event; it will be redelivered"]);
});

test("a failed rebuild naks its events with the backoff, and sets aside those at maxAttempts", async () => {
  const t = loop({ fail: true, maxAttempts: 3 });
  await t.l.start();
  const retried = fakeMsg(loadedEvent.encode(event("campaign", "b1")), { seq: 1, deliveryCount: 2 });
  const exhausted = fakeMsg(loadedEvent.encode(event("clicks", "b2")), { seq: 2, deliveryCount: 3 });
  t.deliveries.deliver(retried, exhausted);
  await waitFor(() => t.setAside.length > 0, { timeoutMs: 5000, what: "set aside" });
  await t.l.stop();
  expect(retried.outcomes).toEqual([`nak ${retryDelayMs(1, 20)}`]);
  expect(exhausted.outcomes).toEqual(["term"]);
  expect(t.dead).toEqual(["clicks: rebuild_failed: rebuild failed"]);
  expect(t.setAside.map((e) => e.batchIds[0])).toEqual(["b2"]);
  expect(t.l.stats).toMatchObject({ events: 0, rebuilds: 0, failures: 1, set_aside: 1 });
  expect(t.outcomes).toHaveLength(1);
  expect(t.logs).toEqual([
    "rebuild failed; events will be redelivered",
    "loaded events set aside after repeated rebuild failures; a full rebuild heals the reports",
  ]);
});
