import { afterAll, beforeAll, expect, test } from "bun:test";
import { AckPolicy, type JetStreamClient, type JetStreamManager, type NatsConnection } from "nats";
import { uniqueName, waitFor } from "../config/testing.ts";
import { createBatchingConsumer, type Held } from "./batching-consumer.ts";
import { connectNats } from "./nats.ts";
import { durablePull, largestDelivery } from "./nats-pull.ts";

const natsUrl = process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222";
const stream = uniqueName("batching");
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

/** A helper over its own durable consumer of `<stream>.<name>`, recording the batches it is handed. */
async function consumerFor(name: string, options: { coalesceMs: number; maxBatchBytes?: number }) {
  await jsm.consumers.add(stream, {
    durable_name: name,
    filter_subject: `${stream}.${name}`,
    ack_policy: AckPolicy.Explicit,
    ack_wait: 30_000_000_000,
  });
  const batches: { at: number; items: Held<string>[] }[] = [];
  let naks = 0;
  const helper = createBatchingConsumer<string>({
    pull: durablePull(js, stream, name),
    largestDeliveryBytes: largestDelivery(nc.info?.max_payload),
    maxHeldBytes: 1 << 20,
    decode: (msg) => msg.string(),
    ...options,
    heartbeatMs: 1000,
    unsettledDelayMs: 0,
    async handle(batch, settle) {
      batches.push({ at: Date.now(), items: batch });
      for (const item of batch) {
        // Left unsettled on its first delivery: the helper naks it and JetStream delivers it again.
        if (item.value === "retry" && item.msg.info.deliveryCount === 1) {
          naks++;
          continue;
        }
        await settle.ack(item.msg);
      }
    },
  });
  await helper.start();
  const publish = (...values: string[]) =>
    Promise.all(values.map((v) => js.publish(`${stream}.${name}`, new TextEncoder().encode(v))));
  return { helper, batches, publish, naks: () => naks };
}

// When a batch is due (the oldest delivery coalesceMs old) is msUntilDue's, tested without a server.
test("a burst within coalesceMs is handed over as one batch", async () => {
  const c = await consumerFor("burst", { coalesceMs: 300 });
  await c.publish("a", "b", "c");
  const [batch] = await waitFor(() => c.batches.length > 0 && c.batches, { what: "a batch" });
  expect(batch?.items.map((i) => i.value)).toEqual(["a", "b", "c"]);
  await c.helper.stop();
  expect(c.batches).toHaveLength(1);
});

test("an arrival that fills a batch's bytes is handed over at once; a nak'd item comes back", async () => {
  // Only the bytes can make these due: the age deadline is a minute away.
  const c = await consumerFor("bytes", { coalesceMs: 60_000, maxBatchBytes: 5 });
  await c.publish("retry", "xxxxx");
  await waitFor(() => c.batches.some((b) => b.items.some((i) => i.value === "xxxxx")), {
    timeoutMs: 5000,
    what: "the batch handed over on arrival",
  });
  const again = await waitFor(
    () =>
      c.batches.flatMap((b) => b.items).find((i) => i.value === "retry" && i.msg.info.deliveryCount === 2),
    { timeoutMs: 5000, what: "the nak'd item redelivered" },
  );
  expect(again.value).toBe("retry");
  expect(c.naks()).toBe(1);
  await c.helper.stop();
  const info = await jsm.consumers.info(stream, "bytes");
  expect(info.num_ack_pending).toBe(0);
  expect(info.num_pending).toBe(0);
});
