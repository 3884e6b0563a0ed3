import { afterAll, beforeAll, expect, test } from "bun:test";
import { type JetStreamManager, type NatsConnection, StorageType } from "nats";
import { uniqueName } from "../config/testing.ts";
import { streams, subjects } from "../contract.ts";
import { connectNats, deleteStreams, ensureStreams, pingNats } from "./nats.ts";

const natsUrl = process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222";
const ns = uniqueName("nats");
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  nc = await connectNats({ url: natsUrl });
  jsm = await nc.jetstreamManager();
});

afterAll(async () => {
  await deleteStreams(jsm, ns);
  await nc.drain();
});

test("ensureStreams creates the namespace's three file streams and is idempotent", async () => {
  const first = await ensureStreams(jsm, ns);
  const second = await Promise.all([ensureStreams(jsm, ns), ensureStreams(jsm, ns)]);
  expect(first.map((s) => s.config.name)).toEqual([streams(ns).delta, streams(ns).dlq, streams(ns).events]);
  expect(second[0]?.map((s) => s.config.name)).toEqual(first.map((s) => s.config.name));

  const delta = await jsm.streams.info(streams(ns).delta);
  expect(delta.config.subjects).toEqual([subjects(ns).deltaAll]);
  expect(delta.config.storage).toBe(StorageType.File);
  expect(delta.config.duplicate_window).toBeGreaterThan(0);
  const events = await jsm.streams.info(streams(ns).events);
  expect(events.config.subjects).toEqual([subjects(ns).loadedAll, subjects(ns).reportsUpdated]);
  await pingNats(nc);
});
