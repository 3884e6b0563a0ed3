import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startTestClickHouse, type TestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import {
  authorised,
  documentedRoutes,
  openApiLintProblems,
  routeTable,
  scrape,
  testSecurity,
  total,
  unguardedRoutes,
} from "@adpipe/shared/api-testing";
import type { ClickHouseClient } from "@adpipe/shared/clickhouse";
import { streams, subjects, type TableName } from "@adpipe/shared/contract";
import { serveDeadLetterReplay } from "@adpipe/shared/dead-letter-replay";
import { createLogger } from "@adpipe/shared/logger";
import { createRegistry } from "@adpipe/shared/metrics";
import { connectNats, deleteStreams, ensureStreams } from "@adpipe/shared/nats";
import { consumerIdle, ensureLoaderConsumers } from "@adpipe/shared/nats-consumers";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
import { listeningUrl, uniqueName, waitFor } from "@adpipe/shared/testing";
import type { JetStreamManager, NatsConnection, Subscription } from "nats";
import { createApp } from "./app.ts";
import { createLoader, type Loader } from "./loader.ts";
import { impressionRows, loaderTestConfig, publishDelta } from "./test-support.ts";

const ENTRY = join(import.meta.dir, "index.ts");
const namespace = uniqueName("ldr");
let chs: TestClickHouse;
let ch: ClickHouseClient;
let nc: NatsConnection;
let jsm: JetStreamManager;
let loader: Loader;
let app: ReturnType<typeof createApp>;
/** The extractor's real replay handler: only the extractor republishes dead letters as deltas. */
let replayer: Subscription;
const logger = createLogger("loader-test", (process.env.TEST_LOG_LEVEL ?? "silent") as "silent");

const config = loaderTestConfig(namespace);

async function scalar(sql: string): Promise<number> {
  const rs = await ch.query({ query: sql, format: "JSONEachRow" });
  const rows = (await rs.json()) as Record<string, string | number>[];
  return Number(Object.values(rows[0] ?? { n: 0 })[0]);
}
const current = (table = "impressions") => scalar(`SELECT count() AS n FROM ${table}_current`);
const stored = (table = "impressions") => scalar(`SELECT count() AS n FROM ${table}`);

const stopMerges = async () => {
  for (const table of ["impressions", "clicks"]) await ch.command({ query: `SYSTEM STOP MERGES ${table}` });
};

const loaderIdle = (table: TableName = "impressions") =>
  consumerIdle(jsm, streams(namespace).delta, streams(namespace).loaderConsumer(table));

/** A loader process; `url` resolves with its HTTP address once it listens (so it consumes). */
function spawnLoader(extraEnv: Record<string, string> = {}) {
  const proc = Bun.spawn(["bun", "run", ENTRY], {
    env: {
      ...process.env,
      NATS_URL: "nats://127.0.0.1:4222",
      ...chs.env(),
      ADPIPE_NAMESPACE: namespace,
      PORT: "0",
      LOG_LEVEL: "info",
      LOADER_FLUSH_MS: "50",
      LOADER_ACK_WAIT_MS: "1500",
      ...extraEnv,
    },
    stdout: "pipe",
    stderr: "inherit",
  });
  const url = listeningUrl(proc.stdout, "the loader");
  return Object.assign(proc, { url });
}

beforeAll(async () => {
  chs = await startTestClickHouse();
  ch = chs.client;
  await migrateOlap(ch, chs.database);
  // Background merges would collapse duplicate versions; the tests count stored rows to prove
  // what was (and was not) inserted twice.
  await stopMerges();
  nc = await connectNats({ url: "nats://127.0.0.1:4222" });
  jsm = await nc.jetstreamManager();
  await ensureStreams(jsm, namespace);
  await ensureLoaderConsumers(jsm, namespace, { ackWaitMs: 1500 });
  const registry = createRegistry("loader");
  loader = createLoader({ js: nc.jetstream(), jsm, clickhouse: ch, config, logger, registry });
  app = createApp({ loader, nc, clickhouse: ch, logger, registry, security: testSecurity });
  replayer = serveDeadLetterReplay({ nc, namespace, logger });
});

afterAll(async () => {
  replayer?.unsubscribe();
  await loader?.stop();
  await deleteStreams(jsm, namespace);
  await nc?.close();
  await chs?.stop();
});

describe("loader", () => {
  test("no dead letters yet: an empty list", async () => {
    const res = await app.request("/dead-letters");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ total: 0, dead_letters: [] });
  });

  test("loads batches and announces them; a duplicate publish, a redelivery and a re-publish change no count", async () => {
    await loader.start();
    const loaded: unknown[] = [];
    const sub = nc.subscribe(subjects(namespace).loaded("impressions"), {
      callback: (_e, m) => loaded.push(m.json()),
    });
    const rows = impressionRows(1, 500);
    const first = await publishDelta(nc.jetstream(), namespace, {
      table: "impressions",
      rows,
      batchId: "b-1",
    });
    const again = await publishDelta(nc.jetstream(), namespace, {
      table: "impressions",
      rows,
      batchId: "b-1",
    });
    expect(again.duplicate).toBe(true);
    expect(again.seq).toBe(first.seq);
    await waitFor(async () => (await current()) === 500, { what: "500 impressions" });

    await publishDelta(nc.jetstream(), namespace, {
      table: "impressions",
      rows,
      batchId: "b-1",
      msgId: "b-1-republished",
    });
    await waitFor(async () => (await stored()) === 1000, { what: "the re-published batch stored" });
    expect(await current()).toBe(500);
    await waitFor(() => loaded.length >= 2, { what: "two loaded events" });
    expect(loaded[0]).toMatchObject({
      table: "impressions",
      batchIds: ["b-1"],
      rows: 500,
      kinds: ["upsert"],
    });
    sub.unsubscribe();

    type Status = { tables: Record<string, { rowsLoaded: number; pending: number }> };
    // The loader counts a batch after its event and its ack: wait for the count to settle.
    const status = await waitFor(
      async () => {
        const s = (await (await app.request("/status")).json()) as Status;
        return (s.tables.impressions?.rowsLoaded ?? 0) >= 1000 ? s : undefined;
      },
      { what: "1000 rows counted" },
    );
    expect(status.tables.impressions?.rowsLoaded).toBe(1000);
  });

  test("coalesces a burst of small batches into few inserts", async () => {
    const before = loader.status();
    const inserts0 = (await before).tables.clicks?.inserts ?? 0;
    const js = nc.jetstream();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        publishDelta(js, namespace, { table: "clicks", rows: impressionRows(10_000 + i * 10, 10) }),
      ),
    );
    await waitFor(async () => (await current("clicks")) === 400, { what: "400 clicks" });
    // Rows are readable before the loader counts them (it records, announces and acks first).
    const rows0 = (await before).tables.clicks?.rowsLoaded ?? 0;
    await waitFor(async () => ((await loader.status()).tables.clicks?.rowsLoaded ?? 0) - rows0 >= 400, {
      what: "400 clicks counted",
    });
    const inserts = ((await loader.status()).tables.clicks?.inserts ?? 0) - inserts0;
    expect(inserts).toBeGreaterThan(0);
    expect(inserts).toBeLessThan(40);
  });

  test("every mutating route needs the token, refuses other origins and non-JSON bodies", async () => {
    expect(await unguardedRoutes(app)).toEqual([]);
  });

  test("/openapi.json documents exactly the routes served; /metrics parses and its counters move", async () => {
    expect(await documentedRoutes(app)).toEqual(routeTable(app));
    expect(await openApiLintProblems(app)).toEqual([]);
    expect(routeTable(app)).toEqual(
      expect.arrayContaining(["GET /status", "GET /dead-letters", "POST /dead-letters/{id}/replay"]),
    );
    const before = await scrape(app);
    await publishDelta(nc.jetstream(), namespace, { table: "clicks", rows: impressionRows(50_000, 20) });
    await waitFor(async () => (await current("clicks")) === 420, { what: "20 more clicks" });
    const after = await waitFor(async () => {
      const f = await scrape(app);
      return total(f, "adpipe_loader_rows_total", { table: "clicks" }) >
        total(before, "adpipe_loader_rows_total", { table: "clicks" })
        ? f
        : undefined;
    });
    const moved = (name: string) =>
      total(after, name, { table: "clicks" }) - total(before, name, { table: "clicks" });
    expect(moved("adpipe_loader_rows_total")).toBe(20);
    expect(moved("adpipe_loader_events_published_total")).toBe(1);
    expect(after.get("adpipe_loader_consumer_pending")?.type).toBe("GAUGE");
    expect(after.get("adpipe_loader_insert_duration_seconds")?.type).toBe("HISTOGRAM");
  });

  test("poison batches go to the dead-letter stream after bounded attempts; the next good batch loads; replay works", async () => {
    const js = nc.jetstream();
    await publishDelta(js, namespace, {
      table: "impressions",
      rows: impressionRows(600, 1),
      override: { columns: "id,oops" },
    });
    await publishDelta(js, namespace, { table: "impressions", rows: ["not-a-number\tx\ty\tz\tw"] });
    // ClickHouse refuses these while the table is away (UNKNOWN_TABLE is not transient).
    await ch.command({ query: "RENAME TABLE advertiser TO advertiser_away" });
    await publishDelta(js, namespace, {
      table: "advertiser",
      rows: ["1\tAdvertiser A\t\\N\t2026-11-24 08:00:00\t5\t500"],
    });
    await publishDelta(js, namespace, { table: "impressions", rows: impressionRows(700, 5) });

    await waitFor(async () => (await current()) === 505, { what: "the good batch after the poison ones" });
    const list = await waitFor(
      async () => {
        const body = (await (await app.request("/dead-letters")).json()) as {
          total: number;
          dead_letters: { id: number; table: string; error: string; error_kind: string; attempts: number }[];
        };
        return body.total === 3 ? body : undefined;
      },
      { what: "three dead letters", timeoutMs: 30_000 },
    );
    const find = (table: string, kind: string) =>
      list.dead_letters.find((d) => d.table === table && d.error_kind === kind);
    const invalid = find("impressions", "invalid_message");
    const rejected = find("impressions", "rejected_by_clickhouse");
    const away = find("advertiser", "rejected_by_clickhouse");
    expect(invalid).toMatchObject({ table: "impressions", error_kind: "invalid_message", attempts: 1 });
    expect(invalid?.error).toContain("columns");
    expect(rejected).toMatchObject({
      table: "impressions",
      error_kind: "rejected_by_clickhouse",
      attempts: 3,
    });
    expect(away).toMatchObject({ table: "advertiser", error_kind: "rejected_by_clickhouse", attempts: 3 });
    expect(await loaderIdle("impressions")).toBe(true);

    await ch.command({ query: "RENAME TABLE advertiser_away TO advertiser" });
    const replay = await app.request(`/dead-letters/${away?.id}/replay`, {
      method: "POST",
      headers: authorised,
    });
    expect(replay.status).toBe(200);
    await waitFor(async () => (await current("advertiser")) === 1, { what: "the replayed advertiser" });
    const after = (await (await app.request("/dead-letters")).json()) as { total: number };
    expect(after.total).toBe(2);
    expect(
      (await app.request("/dead-letters/999999/replay", { method: "POST", headers: authorised })).status,
    ).toBe(404);
    expect(
      (await app.request("/dead-letters/abc/replay", { method: "POST", headers: authorised })).status,
    ).toBe(400);
  });

  test("ClickHouse stopped for a while: /ready says so, nothing is lost, the loader catches up", async () => {
    await chs.server.stop();
    const ready = await app.request("/ready");
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { error: { message: string } }).error.message).toContain("clickhouse");
    const js = nc.jetstream();
    for (let i = 0; i < 5; i++)
      await publishDelta(js, namespace, { table: "impressions", rows: impressionRows(1000 + i * 100, 100) });
    await waitFor(async () => ((await loader.status()).tables.impressions?.errors.transient ?? 0) > 0, {
      what: "a transient failure",
    });
    await chs.restart();
    await stopMerges();
    await waitFor(async () => (await current()) === 1005, {
      what: "catch-up after the restart",
      timeoutMs: 30_000,
    });
    expect((await app.request("/ready")).status).toBe(200);
  });

  test("a loader killed between insert and ack, restarted: counts exact", async () => {
    await loader.stop();
    const storedBefore = await stored();
    const crashing = spawnLoader({ ADPIPE_TEST_CRASH_AFTER_INSERT: "1" });
    await publishDelta(nc.jetstream(), namespace, { table: "impressions", rows: impressionRows(5000, 300) });
    expect(await crashing.exited).not.toBe(0);
    expect(crashing.signalCode).toBe("SIGKILL");
    expect(await current()).toBe(1305); // inserted, never acknowledged
    expect(await loaderIdle()).toBe(false);
    const restarted = spawnLoader();
    try {
      await waitFor(() => loaderIdle(), { what: "the redelivered batch acknowledged", timeoutMs: 30_000 });
      expect(await current()).toBe(1305);
      // The batch was stored twice (before the crash and after it); it counts once.
      expect((await stored()) - storedBefore).toBe(600);
    } finally {
      restarted.kill("SIGTERM");
      expect(await restarted.exited).toBe(0);
    }
  });

  test("two loader processes share the durable consumer: every row exactly once", async () => {
    const storedBefore = await stored("clicks");
    const loaders = [spawnLoader(), spawnLoader()];
    try {
      const urls = await Promise.all(loaders.map((l) => l.url));
      const js = nc.jetstream();
      for (let i = 0; i < 60; i++) {
        await publishDelta(js, namespace, { table: "clicks", rows: impressionRows(100_000 + i * 50, 50) });
      }
      await waitFor(async () => (await current("clicks")) === 420 + 3000 && (await loaderIdle("clicks")), {
        what: "3000 clicks through two loaders",
        timeoutMs: 30_000,
      });
      expect((await stored("clicks")) - storedBefore).toBe(3000);
      // Each process reports what it inserted; together exactly the 3000 rows.
      const loadedBy = await Promise.all(
        urls.map(async (u) => {
          const status = (await (await fetch(`${u}/status`)).json()) as {
            tables: { clicks: { rowsLoaded: number } };
          };
          return status.tables.clicks.rowsLoaded;
        }),
      );
      expect(loadedBy.reduce((a, b) => a + b, 0)).toBe(3000);
    } finally {
      for (const p of loaders) p.kill("SIGTERM");
      expect(await Promise.all(loaders.map((p) => p.exited))).toEqual([0, 0]);
    }
  });
});
