import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestClickHouse, type TestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { UPSERT_COLUMNS } from "@adpipe/shared/contract";
import { createLogger } from "@adpipe/shared/logger";
import { connectNats, deleteStreams, ensureStreams } from "@adpipe/shared/nats";
import { ensureLoaderConsumers, loaderConsumersIdle } from "@adpipe/shared/nats-consumers";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
import { uniqueName, waitFor } from "@adpipe/shared/testing";
import type { JetStreamManager, NatsConnection } from "nats";
import { dedupToken, insertBodies } from "./clickhouse-sink.ts";
import { loadConfig } from "./config.ts";
import { createLoader, type Loader } from "./loader.ts";
import { impressionRows, loaderTestConfig, publishDelta } from "./test-support.ts";

// insert_deduplication_token from the loader's batch ids, on the embedded (single-node) engine:
// the entity tables' non_replicated_deduplication_window makes it deduplicate there as a
// replicated table does on a cluster. Correctness never depends on it (versioned tables); the
// tests count stored rows, with merges stopped, to see what was stored twice.

let chs: TestClickHouse;
let nc: NatsConnection;
let jsm: JetStreamManager;
let loader: Loader;
const namespace = uniqueName("dedup");
const logger = createLogger("loader-test", (process.env.TEST_LOG_LEVEL ?? "silent") as "silent");

const body = (rows: string[]) => new TextEncoder().encode(rows.map((r) => `${r}\n`).join(""));
const scalar = async (sql: string) =>
  Number(
    Object.values(
      (
        (await (await chs.client.query({ query: sql, format: "JSONEachRow" })).json()) as Record<
          string,
          string
        >[]
      )[0] ?? {},
    )[0] ?? 0,
  );
const stored = (table: string) => scalar(`SELECT count() FROM ${table}`);

beforeAll(async () => {
  chs = await startTestClickHouse();
  await migrateOlap(chs.client, chs.database);
  for (const table of ["impressions", "clicks"])
    await chs.client.command({ query: `SYSTEM STOP MERGES ${table}` });
  nc = await connectNats({ url: process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222" });
  jsm = await nc.jetstreamManager();
  await ensureStreams(jsm, namespace);
  await ensureLoaderConsumers(jsm, namespace, { ackWaitMs: 1500 });
});

afterAll(async () => {
  await loader?.stop();
  await deleteStreams(jsm, namespace).catch(() => {});
  await nc?.close();
  await chs?.stop();
});

describe("insert_deduplication_token", () => {
  test("the token is the batch id for one batch, a digest of the ordered ids for several", () => {
    expect(dedupToken(["a-1"])).toBe("a-1");
    expect(dedupToken(["a-1", "a-2"])).toMatch(/^batches-2-[0-9a-f]{32}$/);
    expect(dedupToken(["a-1", "a-2"])).toBe(dedupToken(["a-1", "a-2"]));
    expect(dedupToken(["a-2", "a-1"])).not.toBe(dedupToken(["a-1", "a-2"]));
  });

  test("an INSERT retried with the same batches is stored once; without a token, twice", async () => {
    const cols = UPSERT_COLUMNS.clicks;
    const [a, b] = [body(impressionRows(1, 100)), body(impressionRows(101, 50))];
    await insertBodies(chs.client, "clicks", cols, [a, b], ["c-a", "c-b"]);
    await insertBodies(chs.client, "clicks", cols, [a, b], ["c-a", "c-b"]);
    expect(await stored("clicks")).toBe(150);
    // Grouped differently: another token, stored again (the versions keep reads exact).
    await insertBodies(chs.client, "clicks", cols, [b], ["c-b"]);
    expect(await stored("clicks")).toBe(200);
    await insertBodies(chs.client, "clicks", cols, [b]);
    await insertBodies(chs.client, "clicks", cols, [b]);
    expect(await stored("clicks")).toBe(300);
    expect(await scalar("SELECT count() FROM clicks_current")).toBe(150);
  });

  test("LOADER_DEDUP_TOKEN: defaults to on with CLICKHOUSE_CLUSTER, off without", () => {
    expect(loadConfig({}).LOADER_DEDUP_TOKEN).toBeUndefined();
    expect(loadConfig({ LOADER_DEDUP_TOKEN: "true" }).LOADER_DEDUP_TOKEN).toBe(true);
    expect(() => loadConfig({ CLICKHOUSE_CLUSTER: "a b" })).toThrow(/^invalid setting CLICKHOUSE_CLUSTER/);
    expect(loadConfig({ CLICKHOUSE_CLUSTER: "adpipe" }).CLICKHOUSE_CLUSTER).toBe("adpipe");
  });

  test("the loader with tokens: a batch re-published under a new message id is not stored again", async () => {
    loader = createLoader({
      js: nc.jetstream(),
      jsm,
      clickhouse: chs.client,
      config: {
        ...loaderTestConfig(namespace),
        CLICKHOUSE_CLUSTER: "adpipe", // the default that follows from it: tokens on
      },
      logger,
    });
    await loader.start();
    const js = nc.jetstream();
    const rows = impressionRows(1, 500);
    await publishDelta(js, namespace, { table: "impressions", rows, batchId: "i-1" });
    await waitFor(async () => (await stored("impressions")) === 500, { what: "500 impressions stored" });
    const repeat = await publishDelta(js, namespace, {
      table: "impressions",
      rows,
      batchId: "i-1",
      msgId: "i-1-again",
    });
    expect(repeat.duplicate).toBe(false);
    // Once stored in the stream (the publish ack), the consumer counts it pending until acked.
    await waitFor(() => loaderConsumersIdle(jsm, namespace), {
      what: "the repeat acknowledged",
      timeoutMs: 30_000,
    });
    expect(await stored("impressions")).toBe(500);
    expect(await scalar("SELECT count() FROM impressions_current")).toBe(500);
  });

  test("an INSERT that failed in the keyed copy after the fact table took the rows: its retry with the token completes the copy", async () => {
    // The reports read impressions_keyed, filled by a materialized view in the same INSERT.
    // ClickHouse does not roll the fact table's part back when the view's push fails; a retry
    // is then deduplicated in the fact table and must still reach the view (ClickHouse 24.7+
    // pushes a deduplicated block on to the views). A constraint no row meets fails the push.
    const inRange = (table: string) =>
      scalar(`SELECT uniqExact(id) FROM ${table} WHERE id BETWEEN 10001 AND 10100`);
    const rows = [body(impressionRows(10_001, 100))];
    const cols = UPSERT_COLUMNS.impressions;
    await chs.client.command({
      query: "ALTER TABLE impressions_keyed ADD CONSTRAINT refuse_all CHECK id < 0",
    });
    const failed = await insertBodies(chs.client, "impressions", cols, rows, ["k-1"]).then(
      () => "stored",
      (err: Error) => err.message,
    );
    expect(failed).toContain("while pushing to view");
    expect([await inRange("impressions"), await inRange("impressions_keyed")]).toEqual([100, 0]);
    await chs.client.command({ query: "ALTER TABLE impressions_keyed DROP CONSTRAINT refuse_all" });

    await insertBodies(chs.client, "impressions", cols, rows, ["k-1"]);
    expect(await scalar("SELECT count() FROM impressions WHERE id BETWEEN 10001 AND 10100")).toBe(100);
    expect(await inRange("impressions_keyed")).toBe(100);
  });
});
