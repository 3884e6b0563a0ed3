// bun run bench:load — 10 million impressions end to end (PostgreSQL → extractor → JetStream →
// loader process → embedded ClickHouse) against ClickHouse pulling the same table itself with
// INSERT ... SELECT FROM postgresql(...) into the same engine. One run, both measured here.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startTestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { createExtractor, loadExtractorConfig as loadConfig } from "@adpipe/extractor";
import { streams } from "@adpipe/shared/contract";
import { createLogger } from "@adpipe/shared/logger";
import { connectNats, deleteStreams, ensureStreams } from "@adpipe/shared/nats";
import { ensureLoaderConsumers, loaderConsumersIdle } from "@adpipe/shared/nats-consumers";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
import { createPool } from "@adpipe/shared/pg";
import { createTestDatabase, uniqueName, waitFor } from "@adpipe/shared/testing";

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const CAMPAIGNS = 10;
const fmt = (n: number) => Math.round(n).toLocaleString("en");
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const db = await createTestDatabase();
const pool = createPool({ connectionString: db.url, max: 4 });
const ch = await startTestClickHouse();
const nc = await connectNats({ url: "nats://127.0.0.1:4222" });
const jsm = await nc.jetstreamManager();
const namespace = uniqueName("benchload");
let loader: ReturnType<typeof Bun.spawn> | undefined;

const count = async (sql: string) =>
  Number(
    ((await (await ch.client.query({ query: sql, format: "JSONEachRow" })).json()) as { n: string }[])[0]?.n,
  );

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

  await migrateOlap(ch.client, ch.database);
  await ensureStreams(jsm, namespace);
  await ensureLoaderConsumers(jsm, namespace);

  // The native path: ClickHouse reads PostgreSQL itself, into a table of the same schema.
  const native = `${ch.database}_native`;
  await ch.connect().command({ query: `CREATE DATABASE ${native}` });
  await migrateOlap(ch.connect(native), native);
  const u = new URL(db.url);
  t = performance.now();
  await ch.client.command({
    query: `INSERT INTO ${native}.impressions (id, campaign_id, created_at, _version, _xid)
            SELECT id, campaign_id, created_at, _version, toUInt64(toString(_xid))
            FROM postgresql('${u.hostname}:${u.port}', '${db.name}', 'impressions', 'postgres', '')`,
  });
  const nativeMs = performance.now() - t;
  const nativeRows = await count(`SELECT count() AS n FROM ${native}.impressions`);
  console.log(
    `ClickHouse INSERT ... SELECT FROM postgresql(): ${fmt(nativeRows)} rows in ${secs(nativeMs)}, ${fmt(nativeRows / (nativeMs / 1000))} rows/s`,
  );

  // The pipeline: the loader as its own process, the extractor here.
  loader = Bun.spawn(["bun", "run", join(import.meta.dir, "..", "src", "index.ts")], {
    env: {
      ...process.env,
      NATS_URL: "nats://127.0.0.1:4222",
      CLICKHOUSE_URL: ch.url,
      CLICKHOUSE_DATABASE: ch.database,
      ADPIPE_NAMESPACE: namespace,
      PORT: "0",
      LOG_LEVEL: "warn",
    },
    stdout: "ignore",
    stderr: "inherit",
  });
  const extractor = createExtractor({
    pool,
    js: nc.jetstream(),
    maxPayload: nc.info?.max_payload ?? 1 << 20,
    config: loadConfig({ DATABASE_URL: db.url, ADPIPE_NAMESPACE: namespace }),
    logger: createLogger("bench", "warn"),
  });
  await waitFor(
    async () =>
      (await jsm.consumers.info(streams(namespace).delta, streams(namespace).loaderConsumer("impressions")))
        .num_waiting > 0,
    {
      what: "the loader pulling",
    },
  );
  t = performance.now();
  const { results } = await extractor.extract();
  const extractMs = performance.now() - t;
  const extracted = results.find((r) => r.table === "impressions");
  await waitFor(() => loaderConsumersIdle(jsm, namespace), {
    timeoutMs: 600_000,
    intervalMs: 20,
    what: "the loader to drain",
  });
  const pipelineMs = performance.now() - t;
  const loaded = await count("SELECT count() AS n FROM impressions_current");
  const hwm = readFileSync(`/proc/${loader.pid}/status`, "utf8").match(/VmHWM:\s+(\d+) kB/)?.[1];
  console.log(
    `extractor published ${fmt(extracted?.rows ?? 0)} rows in ${extracted?.batches} batches in ${secs(extractMs)}`,
  );
  console.log(
    `pipeline end to end: ${fmt(loaded)} rows in ClickHouse in ${secs(pipelineMs)}, ${fmt(loaded / (pipelineMs / 1000))} rows/s`,
  );
  console.log(`loader peak RSS: ${fmt(Number(hwm) / 1024)} MB`);
  console.log(`ratio pipeline / native postgresql(): ${(pipelineMs / nativeMs).toFixed(2)} (target <= 2.0)`);
  if (loaded !== ROWS || nativeRows !== ROWS)
    throw new Error(`row counts differ: pipeline ${loaded}, native ${nativeRows}, expected ${ROWS}`);
} finally {
  loader?.kill("SIGTERM");
  await loader?.exited;
  await deleteStreams(jsm, namespace);
  await nc.close();
  await ch.stop();
  await pool.end();
  await db.drop();
}
