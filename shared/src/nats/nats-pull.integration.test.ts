import { afterAll, beforeAll, expect, test } from "bun:test";
import { AckPolicy, type JetStreamClient, type JetStreamManager, type NatsConnection } from "nats";
import { createLogger } from "../config/logger.ts";
import { uniqueName, waitFor } from "../config/testing.ts";
import { type BatchingConsumerOptions, createBatchingConsumer } from "./batching-consumer.ts";
import { connectNats } from "./nats.ts";
import { durablePull, durableStallWatch, fetchDeliveries, largestDelivery } from "./nats-pull.ts";

const natsUrl = process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222";
const stream = uniqueName("pull");
let nc: NatsConnection;
let jsm: JetStreamManager;
let js: JetStreamClient;

beforeAll(async () => {
  nc = await connectNats({ url: natsUrl });
  jsm = await nc.jetstreamManager();
  js = nc.jetstream();
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
});

afterAll(async () => {
  await jsm.streams.delete(stream);
  await nc.drain();
});

async function durable(name: string) {
  await jsm.consumers.add(stream, {
    durable_name: name,
    filter_subject: `${stream}.${name}`,
    ack_policy: AckPolicy.Explicit,
    ack_wait: 30_000_000_000,
  });
  const publish = async (sizes: number[]) => {
    for (const [i, size] of sizes.entries()) {
      const body = new Uint8Array(size);
      new DataView(body.buffer).setUint32(0, i);
      await js.publish(`${stream}.${name}`, body);
    }
  };
  return { publish };
}

/** A batching consumer that acks everything it is handed and records each body's index. */
function acking(name: string, o: Partial<BatchingConsumerOptions<number>>) {
  const seen: number[] = [];
  const helper = createBatchingConsumer<number>({
    pull: durablePull(js, stream, name),
    largestDeliveryBytes: largestDelivery(nc.info?.max_payload),
    maxHeldBytes: 1 << 20,
    decode: (msg) => new DataView(msg.data.buffer, msg.data.byteOffset).getUint32(0),
    coalesceMs: 10,
    heartbeatMs: 1000,
    unsettledDelayMs: 0,
    ...o,
    async handle(batch, settle) {
      for (const h of batch) {
        seen.push(h.value);
        await settle.ack(h.msg);
      }
    },
  });
  return { helper, seen };
}

const sizes = (n: number, size: number) => Array.from({ length: n }, () => size);

test("a delivery as large as the server takes arrives after hundreds of small ones (the pull that never came back)", async () => {
  // nats.js's consume({ max_bytes: 1 MiB }) receives the 120 small ones, then re-pulls a budget
  // below the large one's size for ever: the stall of issue #29.
  const d = await durable("big-after-small");
  await d.publish([...sizes(120, 1000), 900_000, ...sizes(50, 1000)]);
  const c = acking("big-after-small", {});
  await c.helper.start();
  await waitFor(() => c.seen.length >= 171, { timeoutMs: 20_000, what: "all 171 deliveries" });
  await c.helper.stop();
  expect(c.seen).toEqual(Array.from({ length: 171 }, (_, i) => i));
  const info = await jsm.consumers.info(stream, "big-after-small");
  expect([info.num_pending, info.num_ack_pending]).toEqual([0, 0]);
});

test("a fetch ends as soon as the server completed it by count, not at its expiry", async () => {
  const d = await durable("count-completed");
  await d.publish(sizes(130, 100));
  const handle = await js.consumers.get(stream, "count-completed");
  const started = Date.now();
  const expiresMs = 60_000;
  const deliveries = await fetchDeliveries(handle, { maxBytes: 1 << 20, expiresMs });
  let n = 0;
  for await (const msg of deliveries) {
    n++;
    msg.ack();
  }
  // Completed by its 100 messages with bytes left: nats.js alone would wait out the expiry.
  expect(n).toBe(100);
  expect(Date.now() - started).toBeLessThan(expiresMs);
});

test("a pull whose byte budget is below the next message stalls; the watchdog recreates it and says so while it lasts", async () => {
  const d = await durable("stalled");
  await d.publish([2000, 2000, 50_000, 2000]);
  const real = durablePull(js, stream, "stalled");
  let freshPulls = 0;
  let pulls = 0;
  const logs: { msg: string; consumer?: string }[] = [];
  const stalls: number[] = [];
  const c = acking("stalled", {
    // The first consumer handle asks for 10 KB at a time (JetStream answers 409 to a pull the next
    // message does not fit); the handle the watchdog recreates asks for what the reader has room for.
    async pull(request) {
      pulls++;
      if (request.fresh) freshPulls++;
      return real(freshPulls === 1 ? { ...request, maxBytes: 10_000 } : request);
    },
    stall: durableStallWatch({
      jsm,
      stream,
      durable: "stalled",
      afterMs: 1500,
      logger: createLogger("pull-test", "info", {}, (line) => logs.push(JSON.parse(line))),
      onStall: () => stalls.push(Date.now()),
    }),
  });
  await c.helper.start();
  await waitFor(() => c.seen.length === 2, { what: "the two deliveries that fit" });
  await waitFor(() => c.helper.health()?.stalledSince, { timeoutMs: 10_000, what: "a stall" });
  expect(c.seen).toEqual([0, 1]);
  await waitFor(() => c.seen.length === 4, { timeoutMs: 10_000, what: "the rest after the recovery" });
  expect(c.seen).toEqual([0, 1, 2, 3]);
  expect(stalls).toHaveLength(1);
  expect(c.helper.health()).toMatchObject({ stalledSince: undefined, recoveries: 1 });
  expect(logs.map((l) => l.msg)).toContain(
    "consumer stalled: nothing delivered while messages wait for it; recreating its pull",
  );
  expect(logs.find((l) => l.msg === "consumer receiving again")?.consumer).toBe("stalled");
  // The stalled pulls were answered at once and retried with a growing delay (about ten in the
  // 1.5 s before the recovery), not in nats.js's busy loop of thousands a second.
  expect(pulls).toBeLessThan(200);
  await c.helper.stop();
});
