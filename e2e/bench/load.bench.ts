// bun run bench:load — 10 million impressions (1,000 campaigns interleaved, a week of timestamps)
// end to end (PostgreSQL → extractor → JetStream → loader process → embedded ClickHouse), timed
// from the extractor's start until every row is readable in impressions_current, at 1, 2 and 4
// snapshot workers (BENCH_WORKERS), against ClickHouse pulling the same table itself with
// INSERT ... SELECT FROM postgresql(...) into a plain MergeTree (the baseline of the ratio: what a
// user would pull into), and into the pipeline's own tables for reference. One run, all measured here.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startTestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { createExtractor, loadExtractorConfig as loadConfig } from "@adpipe/extractor";
import { streams } from "@adpipe/shared/contract";
import { createLogger } from "@adpipe/shared/logger";
import { connectNats, deleteStreams, ensureStreams } from "@adpipe/shared/nats";
import { ensureLoaderConsumers } from "@adpipe/shared/nats-consumers";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
import { createPool } from "@adpipe/shared/pg";
import { createTestDatabase, uniqueName, waitFor } from "@adpipe/shared/testing";

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const CAMPAIGNS = 1000;
const WORKERS = (process.env.BENCH_WORKERS ?? "1,2,4").split(",").map(Number);
const fmt = (n: number) => Math.round(n).toLocaleString("en");
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const db = await createTestDatabase();
const pool = createPool({ connectionString: db.url, max: 16 });
const ch = await startTestClickHouse();
const nc = await connectNats({ url: "nats://127.0.0.1:4222" });
const jsm = await nc.jetstreamManager();
let loader: ReturnType<typeof Bun.spawn> | undefined;
const namespaces: string[] = [];

const count = async (sql: string) =>
  Number(
    ((await (await ch.client.query({ query: sql, format: "JSONEachRow" })).json()) as { n: string }[])[0]?.n,
  );

/** One load of the whole table through extractor, NATS and a loader process; ms and loader peak RSS. */
async function loadThroughPipeline(workers: number): Promise<{ ms: number; rss: number }> {
  const namespace = uniqueName("benchload");
  namespaces.push(namespace);
  await ensureStreams(jsm, namespace);
  await ensureLoaderConsumers(jsm, namespace);
  const database = `${ch.database}_w${workers}`;
  await ch.connect().command({ query: `CREATE DATABASE ${database}` });
  const target = ch.connect(database);
  await migrateOlap(target, database);
  // Every run starts from nothing published.
  await pool.query("DELETE FROM adpipe_watermark");
  loader = Bun.spawn(
    ["bun", "run", join(import.meta.dir, "..", "..", "services", "loader", "src", "index.ts")],
    {
      env: {
        ...process.env,
        NATS_URL: "nats://127.0.0.1:4222",
        ...ch.env(),
        CLICKHOUSE_DATABASE: database,
        ADPIPE_NAMESPACE: namespace,
        PORT: "0",
        LOG_LEVEL: "warn",
      },
      stdout: "ignore",
      stderr: "inherit",
    },
  );
  await waitFor(
    async () =>
      (await jsm.consumers.info(streams(namespace).delta, streams(namespace).loaderConsumer("impressions")))
        .num_waiting > 0,
    { what: "the loader pulling" },
  );
  const started = performance.now();
  const extractor = createExtractor({
    pool,
    js: nc.jetstream(),
    maxPayload: nc.info?.max_payload ?? 1 << 20,
    config: loadConfig({
      DATABASE_URL: db.url,
      ADPIPE_NAMESPACE: namespace,
      EXTRACT_SNAPSHOT_WORKERS: String(workers),
    }),
    logger: createLogger("bench", "warn"),
  });
  const { results } = await extractor.extract();
  const failed = results.find((r) => r.status === "failed");
  if (failed) throw new Error(`extraction failed: ${failed.table}: ${failed.error}`);
  const rows = (sql: string) =>
    target
      .query({ query: sql, format: "JSONEachRow" })
      .then((r) => r.json() as Promise<{ n: string }[]>)
      .then((r) => Number(r[0]?.n));
  // Polled cheaply first: a count of stored row versions (no FINAL; ClickHouse answers it from
  // part metadata) reaches ROWS no later than the rows are all there. Only then the real test,
  // which FINAL makes a read of the whole table: polled every 50 ms from the start, it took CPU
  // the inserts needed (the native path below is not polled while it inserts).
  await waitFor(async () => (await rows("SELECT count() AS n FROM impressions")) >= ROWS, {
    timeoutMs: 900_000,
    intervalMs: 50,
    what: "every row version stored in impressions",
  });
  await waitFor(async () => (await rows("SELECT count() AS n FROM impressions_current")) === ROWS, {
    timeoutMs: 900_000,
    intervalMs: 50,
    what: "every row readable in impressions_current",
  });
  const ms = performance.now() - started;
  const hwm = readFileSync(`/proc/${loader.pid}/status`, "utf8").match(/VmHWM:\s+(\d+) kB/)?.[1];
  loader.kill("SIGTERM");
  await loader.exited;
  loader = undefined;
  await ch.connect().command({ query: `DROP DATABASE ${database}` });
  return { ms, rss: Number(hwm) / 1024 };
}

try {
  console.log(`bench:load — ${fmt(ROWS)} impressions`);
  await pool.query("INSERT INTO advertiser (name) VALUES ('Advertiser A')");
  await pool.query(
    "INSERT INTO campaign (name, bid, budget, advertiser_id) SELECT 'Campaign_1_' || g, 1, 100, 1 FROM generate_series(1, $1::int) g",
    [CAMPAIGNS],
  );
  let t = performance.now();
  await pool.query(
    `INSERT INTO impressions (campaign_id, created_at)
     SELECT 1 + (g % $2::int), LOCALTIMESTAMP - (g % 604800) * interval '1 second' FROM generate_series(1, $1::int) g`,
    [ROWS, CAMPAIGNS],
  );
  await pool.query("VACUUM ANALYZE impressions");
  console.log(`fill PostgreSQL: ${secs(performance.now() - t)}`);

  // The baseline: what a user would do without adpipe, ClickHouse pulling the table itself into a
  // plain MergeTree (no versions, no keyed copy); readable once the INSERT returns.
  const native = `${ch.database}_native`;
  await ch.connect().command({ query: `CREATE DATABASE ${native}` });
  const u = new URL(db.url);
  const source = `postgresql('${u.hostname}:${u.port}', '${db.name}', 'impressions', 'postgres', '')`;
  await ch.client.command({
    query: `CREATE TABLE ${native}.plain (id Int64, campaign_id Nullable(Int64), created_at Nullable(DateTime64(6, 'UTC')))
            ENGINE = MergeTree ORDER BY id`,
  });
  t = performance.now();
  await ch.client.command({
    query: `INSERT INTO ${native}.plain SELECT id, campaign_id, created_at FROM ${source}`,
  });
  const nativeRows = await count(`SELECT count() AS n FROM ${native}.plain`);
  const nativeMs = performance.now() - t;
  console.log(
    `baseline, ClickHouse INSERT ... SELECT FROM postgresql() into a plain MergeTree: ${fmt(nativeRows)} rows in ${secs(nativeMs)}, ${fmt(nativeRows / (nativeMs / 1000))} rows/s`,
  );
  // For reference, the same pull into the pipeline's own tables (versions, keyed copy, FINAL).
  await migrateOlap(ch.connect(native), native);
  t = performance.now();
  await ch.client.command({
    query: `INSERT INTO ${native}.impressions (id, campaign_id, created_at, _version, _xid)
            SELECT id, campaign_id, created_at, _version, toUInt64(toString(_xid)) FROM ${source}`,
  });
  const ownRows = await count(`SELECT count() AS n FROM ${native}.impressions_current`);
  const ownMs = performance.now() - t;
  console.log(
    `reference, the same pull into the pipeline's tables (until readable in impressions_current): ${fmt(ownRows)} rows in ${secs(ownMs)}`,
  );

  // The pipeline, once per snapshot worker count: the loader as its own process, the extractor
  // here, each run into a ClickHouse database and NATS namespace of its own. Timed from the
  // extractor's start until every row is readable in impressions_current.
  const results: { workers: number; ms: number; rss: number }[] = [];
  for (const workers of WORKERS) {
    const run = await loadThroughPipeline(workers);
    results.push({ workers, ...run });
    console.log(
      `pipeline, ${workers} snapshot worker${workers === 1 ? "" : "s"}: ${fmt(ROWS)} rows readable in impressions_current in ${secs(run.ms)}, ` +
        `${fmt(ROWS / (run.ms / 1000))} rows/s, loader peak RSS ${fmt(run.rss)} MB, ratio pipeline / native ${(run.ms / nativeMs).toFixed(2)} (target <= 2.0)`,
    );
  }
  const base = results[0] as { ms: number };
  for (const r of results.slice(1))
    console.log(`speed-up ${r.workers} workers / 1 worker: ${(base.ms / r.ms).toFixed(2)}x`);
} finally {
  loader?.kill("SIGTERM");
  await loader?.exited;
  for (const ns of namespaces) await deleteStreams(jsm, ns);
  await nc.close();
  await ch.stop();
  await pool.end();
  await db.drop();
}
