import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestClickHouse, type TestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { scrape, testSecurity, total } from "@adpipe/shared/api-testing";
import { streams } from "@adpipe/shared/contract";
import { createLogger } from "@adpipe/shared/logger";
import { createRegistry } from "@adpipe/shared/metrics";
import { connectNats, deleteStreams, ensureStreams } from "@adpipe/shared/nats";
import { ensureLoaderConsumers } from "@adpipe/shared/nats-consumers";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
import { uniqueName, waitFor } from "@adpipe/shared/testing";
import type { JetStreamManager, NatsConnection } from "nats";
import { createApp } from "./app.ts";
import { createLoader, type Loader } from "./loader.ts";
import { impressionRows, loaderTestConfig, publishDelta } from "./test-support.ts";

const namespace = uniqueName("stall");
const STALL_MS = 1000;
let chs: TestClickHouse;
let nc: NatsConnection;
let jsm: JetStreamManager;
let loader: Loader;
let app: ReturnType<typeof createApp>;
const logs: { msg: string; consumer?: string }[] = [];
/** While set, the impressions table's pulls ask for fewer bytes than one delta: JetStream answers 409. */
let starve = true;

beforeAll(async () => {
  chs = await startTestClickHouse();
  await migrateOlap(chs.client, chs.database);
  nc = await connectNats({ url: "nats://127.0.0.1:4222" });
  jsm = await nc.jetstreamManager();
  await ensureStreams(jsm, namespace);
  await ensureLoaderConsumers(jsm, namespace, { ackWaitMs: 1500 });
  const registry = createRegistry("loader");
  const logger = createLogger("loader", "info", {}, (line) => logs.push(JSON.parse(line)));
  loader = createLoader({
    js: nc.jetstream(),
    jsm,
    clickhouse: chs.client,
    config: { ...loaderTestConfig(namespace), ADPIPE_CONSUMER_STALL_MS: STALL_MS },
    logger,
    registry,
    maxPayload: nc.info?.max_payload,
    wrapPull: (table, pull) => (request) =>
      pull(table === "impressions" && starve ? { ...request, maxBytes: 500 } : request),
  });
  app = createApp({ loader, nc, clickhouse: chs.client, logger, registry, security: testSecurity });
  await loader.start();
});

afterAll(async () => {
  await loader?.stop();
  await deleteStreams(jsm, namespace);
  await nc?.close();
  await chs?.stop();
});

const count = async () => {
  const rs = await chs.client.query({
    query: "SELECT count() AS n FROM impressions_current",
    format: "JSONEachRow",
  });
  return Number(((await rs.json()) as { n: string }[])[0]?.n);
};

test("a table whose pulls receive nothing while deltas wait: /ready names it, the watchdog recreates the pull, the rows arrive", async () => {
  const consumer = streams(namespace).loaderConsumer("impressions");
  await publishDelta(nc.jetstream(), namespace, { table: "impressions", rows: impressionRows(1, 200) });
  await publishDelta(nc.jetstream(), namespace, { table: "clicks", rows: impressionRows(1, 3) });

  // Stalled: found after ADPIPE_CONSUMER_STALL_MS, named by /ready and the metrics, while the
  // other tables flow.
  const ready = await waitFor(
    async () => {
      const res = await app.request("/ready");
      return res.status === 503 && ((await res.json()) as { error: { message: string } });
    },
    { timeoutMs: 15_000, what: "/ready failing" },
  );
  expect(ready.error.message).toContain("consumers: impressions consumer stalled since");
  const metrics = await scrape(app);
  expect(total(metrics, "adpipe_consumer_stalled", { consumer })).toBe(1);
  expect(
    total(metrics, "adpipe_consumer_stalled", { consumer: streams(namespace).loaderConsumer("clicks") }),
  ).toBe(0);
  expect(await count()).toBe(0);
  const status = (await (await app.request("/status")).json()) as {
    tables: Record<string, { consumer: { stalled_since: string | null; stall_recoveries: number } }>;
  };
  expect(status.tables.impressions?.consumer.stalled_since).not.toBeNull();
  expect(status.tables.clicks?.consumer.stalled_since).toBeNull();

  // The cause goes away: the watchdog's next recreated pull receives, and everything is there.
  starve = false;
  await waitFor(async () => (await count()) === 200, { timeoutMs: 15_000, what: "200 impressions loaded" });
  await waitFor(async () => (await app.request("/ready")).status === 200, { what: "/ready again" });
  const after = await scrape(app);
  expect(total(after, "adpipe_consumer_stalled", { consumer })).toBe(0);
  const recoveries = total(after, "adpipe_consumer_stall_recoveries_total", { consumer });
  expect(recoveries).toBeGreaterThanOrEqual(1);
  const stalls = logs.filter((l) => l.msg.startsWith("consumer stalled"));
  expect(stalls.length).toBe(recoveries);
  expect(stalls.every((l) => l.consumer === consumer)).toBe(true);
  expect(logs.some((l) => l.msg === "consumer receiving again" && l.consumer === consumer)).toBe(true);
});
