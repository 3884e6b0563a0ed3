// A real JetStream leader election (three local nats-server processes, R3 streams): a publish and
// an ack sent while the stream or consumer has no leader get through once one is elected, where
// nats.js's single attempt fails (checked in the same election, so the test shows why the retry
// exists).
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { JsMsg, NatsConnection } from "nats";
import { streams, subjects } from "./contract.ts";
import { connectNats, ensureStreams } from "./nats.ts";
import { type NatsCluster, startNatsCluster } from "./nats-cluster.ts";
import { ensureLoaderConsumers } from "./nats-consumers.ts";
import { ackThroughElection, ELECTION_RETRY, publishThroughElection } from "./nats-retry.ts";
import { uniqueName, waitFor } from "./testing.ts";

let cluster: NatsCluster;
let nc: NatsConnection;
const ns = uniqueName("elect");

beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3, timeoutMs: 30_000 });
  nc = await connectNats({ url: cluster.url });
  const jsm = await nc.jetstreamManager();
  await ensureStreams(jsm, ns, { replicas: 3 });
  await ensureLoaderConsumers(jsm, ns, { ackWaitMs: 60_000 });
}, 60_000);

afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

/** The server leading a stream, or a consumer of it, as a connection with a short timeout sees it. */
async function leaderOf(stream: string, consumer?: string): Promise<string> {
  const jsm = await nc.jetstreamManager({ timeout: 1000 });
  return waitFor(
    async () => {
      const info = consumer ? await jsm.consumers.info(stream, consumer) : await jsm.streams.info(stream);
      return info.cluster?.leader || undefined;
    },
    { what: `a leader of ${consumer ?? stream}`, timeoutMs: 60_000, intervalMs: 100 },
  );
}

async function restartAndCatchUp(node: string) {
  await cluster.node(node).start();
  const jsm = await nc.jetstreamManager({ timeout: 1000 });
  await waitFor(
    async () => {
      const info = await jsm.streams.info(streams(ns).delta);
      const peer = info.cluster?.replicas?.find((r) => r.name === node);
      return peer?.current === true && !peer.offline;
    },
    { what: `${node} current again`, timeoutMs: 60_000, intervalMs: 200 },
  );
}

test("acks of deliveries held through the consumer leader's death are confirmed by the new leader", async () => {
  const js = nc.jetstream();
  const subject = subjects(ns).delta("impressions");
  for (let i = 0; i < 5; i++) await js.publish(subject, new Uint8Array([i]), { msgID: `a-${i}` });
  const consumer = await js.consumers.get(streams(ns).delta, streams(ns).loaderConsumer("impressions"));
  const held: JsMsg[] = [];
  for await (const m of await consumer.fetch({ max_messages: 5, expires: 2000 })) held.push(m);
  expect(held.length).toBe(5);

  const dead = await leaderOf(streams(ns).delta, streams(ns).loaderConsumer("impressions"));
  await cluster.node(dead).kill("SIGKILL");
  // One attempt, as nats.js makes it: nobody leads the consumer, the ack is not confirmed.
  const [first, ...rest] = held as [JsMsg, ...JsMsg[]];
  await expect(first.ackAck({ timeout: 1000 })).rejects.toThrow();
  const confirmed = await Promise.all(rest.map((m) => ackThroughElection(m, nc, ELECTION_RETRY)));
  expect(confirmed).toEqual([true, true, true, true]);
  // The retried ones are applied on the new leader: only the single-attempt one is still pending.
  const info = await (await nc.jetstreamManager()).consumers.info(
    streams(ns).delta,
    streams(ns).loaderConsumer("impressions"),
  );
  expect({ pending: info.num_ack_pending, leader: info.cluster?.leader !== dead }).toEqual({
    pending: 1,
    leader: true,
  });
  await restartAndCatchUp(dead);
}, 120_000);

test("a publish sent while the stream elects a leader is stored once, after the election", async () => {
  const js = nc.jetstream();
  const subject = subjects(ns).delta("clicks");
  const dead = await leaderOf(streams(ns).delta);
  const before = (await (await nc.jetstreamManager()).streams.info(streams(ns).delta)).state.messages;
  await cluster.node(dead).kill("SIGKILL");
  const single = js.publish(subject, new Uint8Array([1]), { msgID: "p-single", timeout: 1000 });
  const retried = publishThroughElection(
    js,
    subject,
    new Uint8Array([2]),
    { msgID: "p-retried" },
    ELECTION_RETRY,
  );
  await expect(single).rejects.toThrow();
  const ack = await retried;
  expect(ack.duplicate).toBe(false);
  // Sent again on purpose: the stream already holds it.
  const again = await publishThroughElection(
    js,
    subject,
    new Uint8Array([2]),
    { msgID: "p-retried" },
    ELECTION_RETRY,
  );
  expect(again.duplicate).toBe(true);
  const after = (await (await nc.jetstreamManager()).streams.info(streams(ns).delta)).state.messages;
  expect(after - before).toBe(1);
  await restartAndCatchUp(dead);
}, 120_000);
