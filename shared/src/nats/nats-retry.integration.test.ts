// A real JetStream leader election (three local nats-server processes, R3 streams): a publish and
// an ack sent while the stream or consumer has no leader get through once one is elected, where
// nats.js's single attempt fails (checked in the same election, so the test shows why the retry
// exists).
import { afterEach, beforeEach, expect, test } from "bun:test";
import type { JetStreamManager, JsMsg, NatsConnection } from "nats";
import { uniqueName, waitFor } from "../config/testing.ts";
import { streams, subjects } from "../contract.ts";
import { connectNats, ensureStreams } from "./nats.ts";
import { type NatsCluster, startNatsCluster } from "./nats-cluster.ts";
import { ensureLoaderConsumers } from "./nats-consumers.ts";
import { ackThroughElection, ELECTION_RETRY, publishThroughElection } from "./nats-retry.ts";

// Each test on a cluster of its own: the server a test kills stays down (restarting it would
// make the next test wait for its catch-up, which nats-server 2.9's /healthz can hold back).
let cluster: NatsCluster | undefined;
let nc: NatsConnection;
let ns: string;

beforeEach(async () => {
  cluster = await startNatsCluster({ size: 3, timeoutMs: 30_000 });
  nc = await connectNats({ url: cluster.url });
  ns = uniqueName("elect");
  const jsm = await nc.jetstreamManager();
  await ensureStreams(jsm, ns, { replicas: 3 });
  await ensureLoaderConsumers(jsm, ns, { ackWaitMs: 60_000 });
  // A new R3 stream and its consumers answer their creation before every group has a leader: a
  // publish or pull sent at once can meet nobody (503). The tests start once both are led.
  await leaderOf(streams(ns).delta);
  await leaderOf(streams(ns).delta, streams(ns).loaderConsumer("impressions"));
}, 90_000);

afterEach(async () => {
  await nc?.close();
  await cluster?.stop();
  cluster = undefined;
});

/**
 * A JetStream API answer, asked again while the groups settle after an election (an API request
 * reaching a server as it catches up can go unanswered; that is not what these tests are about).
 * checkAPI false: nats.js would first ask $JS.API.INFO, which times out while the killed server's
 * JetStream meta group elects its own leader.
 */
async function settled<T>(what: string, ask: (jsm: JetStreamManager) => Promise<T>): Promise<T> {
  const jsm = await nc.jetstreamManager({ timeout: 1000, checkAPI: false });
  return waitFor(() => ask(jsm), { what, timeoutMs: 60_000, intervalMs: 200 });
}

/** The server leading a stream, or a consumer of it, as a connection with a short timeout sees it. */
async function leaderOf(stream: string, consumer?: string): Promise<string> {
  const jsm = await nc.jetstreamManager({ timeout: 1000, checkAPI: false });
  return waitFor(
    async () => {
      const info = consumer ? await jsm.consumers.info(stream, consumer) : await jsm.streams.info(stream);
      return info.cluster?.leader || undefined;
    },
    { what: `a leader of ${consumer ?? stream}`, timeoutMs: 60_000, intervalMs: 100 },
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
  await cluster?.node(dead).kill("SIGKILL");
  // One attempt, as nats.js makes it: nobody leads the consumer, the ack is not confirmed.
  const [first, ...rest] = held as [JsMsg, ...JsMsg[]];
  await expect(first.ackAck({ timeout: 1000 })).rejects.toThrow();
  const confirmed = await Promise.all(rest.map((m) => ackThroughElection(m, nc, ELECTION_RETRY)));
  expect(confirmed).toEqual([true, true, true, true]);
  // The retried ones are applied on the new leader: only the single-attempt one is still pending.
  const info = await settled("the consumer's state", (jsm) =>
    jsm.consumers.info(streams(ns).delta, streams(ns).loaderConsumer("impressions")),
  );
  expect({ pending: info.num_ack_pending, leader: info.cluster?.leader !== dead }).toEqual({
    pending: 1,
    leader: true,
  });
}, 120_000);

test("a publish sent while the stream elects a leader is stored once, after the election", async () => {
  const js = nc.jetstream();
  const subject = subjects(ns).delta("clicks");
  const dead = await leaderOf(streams(ns).delta);
  const before = (await settled("the stream's state", (jsm) => jsm.streams.info(streams(ns).delta))).state
    .messages;
  await cluster?.node(dead).kill("SIGKILL");
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
  const after = (await settled("the stream's state", (jsm) => jsm.streams.info(streams(ns).delta))).state
    .messages;
  expect(after - before).toBe(1);
}, 120_000);
