import { afterAll, beforeAll, expect, test } from "bun:test";
import type { JetStreamManager, NatsConnection } from "nats";
import { uniqueName, waitFor } from "../config/testing.ts";
import { streams, subjects } from "../contract.ts";
import { connectNats, ensureStreams } from "./nats.ts";
import { type NatsCluster, startNatsCluster } from "./nats-cluster.ts";

// Three real nats-server processes clustered on loopback: R3 streams survive their leader's death.

let cluster: NatsCluster;
let nc: NatsConnection;
let jsm: JetStreamManager;
const ns = uniqueName("cl");

beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3, timeoutMs: 30_000 });
  nc = await connectNats({ url: cluster.url, timeoutMs: 10_000 });
  jsm = await nc.jetstreamManager({ timeout: 10_000 });
}, 60_000);

afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
});

test("NATS_URL with several servers: the client knows all of them", () => {
  expect(cluster.url.split(",")).toHaveLength(3);
  expect(nc.getServer()).toMatch(/^127\.0\.0\.1:\d+$/);
});

test("ensureStreams sets the replica count, and raises it on an existing stream", async () => {
  const first = await ensureStreams(jsm, ns, { replicas: 1 });
  expect(first.map((s) => s.config.num_replicas)).toEqual([1, 1, 1]);
  const raised = await ensureStreams(jsm, ns, { replicas: 3 });
  expect(raised.map((s) => s.config.num_replicas)).toEqual([3, 3, 3]);
  const info = await waitFor(
    async () => {
      const i = await jsm.streams.info(streams(ns).delta);
      return i.cluster?.leader &&
        i.cluster.replicas?.length === 2 &&
        i.cluster.replicas.every((r) => r.current)
        ? i
        : undefined;
    },
    { what: "three current copies of the delta stream", timeoutMs: 30_000 },
  );
  const names = [info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)].sort();
  expect(names).toEqual(["n1", "n2", "n3"]);
}, 60_000);

test("the stream leader killed with SIGKILL: acknowledged messages survive, publishes resume, the node rejoins", async () => {
  const js = nc.jetstream();
  const subject = subjects(ns).delta("impressions");
  for (let i = 0; i < 50; i++) await js.publish(subject, `m${i}`, { msgID: `before-${i}` });
  const leader = (await jsm.streams.info(streams(ns).delta)).cluster?.leader as string;
  await cluster.node(leader).kill("SIGKILL");

  // A new leader is elected among the two left; the client reconnects to one of them.
  const newLeader = await waitFor(
    async () => {
      const l = (await jsm.streams.info(streams(ns).delta)).cluster?.leader;
      return l && l !== leader ? l : undefined;
    },
    { what: "a new delta stream leader", timeoutMs: 30_000, intervalMs: 200 },
  );
  expect(newLeader).not.toBe(leader);
  for (let i = 0; i < 50; i++) {
    await waitFor(() => js.publish(subject, `n${i}`, { msgID: `after-${i}`, timeout: 2000 }), {
      what: `publish ${i} after the failover`,
      timeoutMs: 30_000,
      intervalMs: 200,
    });
  }
  expect((await jsm.streams.info(streams(ns).delta)).state.messages).toBe(100);

  await cluster.node(leader).start();
  await waitFor(
    async () => {
      const i = await jsm.streams.info(streams(ns).delta);
      const back = i.cluster?.replicas?.find((r) => r.name === leader);
      return (back?.current && i.cluster?.leader !== leader) || i.cluster?.leader === leader;
    },
    { what: `${leader} current again`, timeoutMs: 60_000, intervalMs: 250 },
  );
  expect((await jsm.streams.info(streams(ns).delta)).state.messages).toBe(100);
}, 180_000);
