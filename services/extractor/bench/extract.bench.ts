/**
 * `bun run bench:extract`: initial and incremental extraction of impressions into JetStream,
 * against PostgreSQL's own COPY speed. Two databases, one with 1 million and one with 10 million
 * impressions, each with its own namespace; everything is dropped at the end.
 */
import { readTableSchema } from "@adpipe/shared/columns/pg-catalog";
import { createLogger } from "@adpipe/shared/logger";
import { connectNats, deleteStreams, ensureStreams } from "@adpipe/shared/nats";
import { createPool, type Pool } from "@adpipe/shared/pg";
import { createTestDatabase, type TestDatabase, uniqueName } from "@adpipe/shared/testing";
import type { NatsConnection } from "nats";
import { to as copyTo } from "pg-copy-streams";
import { loadConfig } from "../src/config.ts";
import { deltaQueries } from "../src/delta-queries.ts";
import { createExtractor, type Extractor } from "../src/extractor.ts";

const SMALL = 1_000_000;
const LARGE = 10_000_000;
const NEW_ROWS = 1_000;
const REPEATS = 15;

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const rate = (rows: number, ms: number) => `${(((rows / ms) * 1000) / 1e6).toFixed(2)} M rows/s`;
const log = (line: string) => console.log(line);

/**
 * Samples RSS while `fn` runs (the timer fires between COPY chunks, so peaks are seen) and
 * reports the peak of each quarter of the run: flat quarters mean memory does not grow with rows.
 */
async function withPeakRss<T>(fn: () => Promise<T>) {
  const samples: { at: number; rss: number }[] = [];
  const started = performance.now();
  const sample = () => samples.push({ at: performance.now() - started, rss: process.memoryUsage().rss });
  sample();
  const timer = setInterval(sample, 20);
  try {
    const value = await fn();
    sample();
    const ms = performance.now() - started;
    const quarters = [0, 1, 2, 3].map((q) =>
      Math.max(
        0,
        ...samples.filter((s) => s.at >= (q * ms) / 4 && s.at <= ((q + 1) * ms) / 4).map((s) => s.rss),
      ),
    );
    return { value, ms, peakRss: Math.max(...samples.map((s) => s.rss)), quarters };
  } finally {
    clearInterval(timer);
  }
}

async function fill(pool: Pool, from: number, to: number) {
  const started = performance.now();
  for (let start = from; start < to; start += 1_000_000) {
    const end = Math.min(start + 1_000_000, to);
    await pool.query(
      `INSERT INTO impressions (campaign_id, created_at)
       SELECT 1 + g % 20, timestamp '2026-11-20' - (g % 604800) * interval '1 second'
       FROM generate_series($1::int, $2::int - 1) g`,
      [start, end],
    );
  }
  await pool.query("ANALYZE impressions"); // as autovacuum would, so the planner knows the table
  log(
    `fill: ${(to - from).toLocaleString()} impressions in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

async function copyAlone(pool: Pool): Promise<{ rows: number; ms: number; bytes: number }> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const { rows } = await client.query<{ xmin: string }>(
      "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin",
    );
    const schema = await readTableSchema(client, "impressions");
    const { upsert } = deltaQueries("impressions", { from: "0", to: rows[0]?.xmin ?? "0" }, schema);
    const started = performance.now();
    let bytes = 0;
    let count = 0;
    for await (const chunk of client.query(copyTo(upsert.sql))) {
      bytes += chunk.length;
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) count++;
    }
    const ms = performance.now() - started;
    await client.query("COMMIT");
    return { rows: count, ms, bytes };
  } finally {
    client.release();
  }
}

async function initial(extractor: Extractor, label: string, copyRate?: number) {
  await extractor.resync("impressions");
  const { value, ms, peakRss, quarters } = await withPeakRss(() => extractor.extract("impressions"));
  const result = value.results[0];
  if (result?.status !== "published")
    throw new Error(`initial extraction ${result?.status}: ${result?.error}`);
  const ratio = copyRate ? `, ${((result.rows / ms / copyRate) * 100).toFixed(0)}% of COPY alone` : "";
  log(
    `(b) initial extraction, ${label}: ${result.rows.toLocaleString()} rows in ${result.batches} messages, ` +
      `${(ms / 1000).toFixed(2)} s, ${rate(result.rows, ms)}${ratio}; peak RSS ${mb(peakRss)} ` +
      `(per quarter of the run: ${quarters.map(mb).join(", ")})`,
  );
  return { ms, peakRss, rows: result.rows };
}

const insertNew = (pool: Pool) =>
  pool.query(
    `INSERT INTO impressions (campaign_id) SELECT 1 + g % 20 FROM generate_series(1, ${NEW_ROWS}) g`,
  );

async function timedCycle(world: World): Promise<number> {
  await insertNew(world.pool);
  const started = performance.now();
  const { results } = await world.extractor.extract();
  const ms = performance.now() - started;
  const rows = results.find((r) => r.table === "impressions")?.rows;
  if (rows !== NEW_ROWS)
    throw new Error(`incremental cycle published ${rows} impressions, expected ${NEW_ROWS}`);
  return ms;
}

/**
 * Times cycles that each find 1,000 new impressions, alternating between the two tables so that
 * whatever else the machine does falls on both alike. The bulk loads leave work behind
 * (autovacuum of the new rows, dirty buffers, JetStream flushing its files), so both databases
 * are vacuumed and checkpointed first, and one untimed cycle warms each.
 */
async function incremental(worlds: World[]): Promise<number[]> {
  for (const { pool, extractor } of worlds) {
    await pool.query("VACUUM ANALYZE impressions");
    await pool.query("CHECKPOINT");
    await insertNew(pool);
    await extractor.extract();
  }
  const times: number[][] = worlds.map(() => []);
  for (let i = 0; i < REPEATS; i++) {
    const order = i % 2 === 0 ? [0, 1] : [1, 0];
    for (const w of order) times[w]?.push(await timedCycle(worlds[w] as World));
  }
  return worlds.map((world, w) => {
    const sorted = [...(times[w] ?? [])].sort((a, b) => a - b);
    const median = sorted[Math.floor(REPEATS / 2)] ?? 0;
    log(
      `(c) incremental cycle (all tables, ${NEW_ROWS} new impressions), ${world.label}: median ${median.toFixed(1)} ms ` +
        `(min ${sorted[0]?.toFixed(1)}, max ${sorted.at(-1)?.toFixed(1)}, ${REPEATS} cycles)`,
    );
    return median;
  });
}

interface World {
  label: string;
  db: TestDatabase;
  pool: Pool;
  namespace: string;
  extractor: Extractor;
}

async function createWorld(label: string, nc: NatsConnection): Promise<World> {
  const db = await createTestDatabase();
  const namespace = uniqueName("bench");
  const pool = createPool({ connectionString: db.url, max: 12 });
  await ensureStreams(await nc.jetstreamManager(), namespace);
  const extractor = createExtractor({
    pool,
    js: nc.jetstream(),
    maxPayload: nc.info?.max_payload ?? 1024 * 1024,
    config: loadConfig({ DATABASE_URL: db.url, ADPIPE_NAMESPACE: namespace, LOG_LEVEL: "warn" }),
    logger: createLogger("bench", "warn"),
  });
  await pool.query(
    "INSERT INTO advertiser (name) SELECT 'adv ' || g FROM generate_series(1, 5) g; " +
      "INSERT INTO campaign (name, bid, budget, advertiser_id) SELECT 'c ' || g, 1.50, 1000, 1 + g % 5 FROM generate_series(1, 20) g",
  );
  return { label, db, pool, namespace, extractor };
}

const nc = await connectNats({ url: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
const jsm = await nc.jetstreamManager();
const worlds: World[] = [];
try {
  log(`bench:extract — max_payload ${nc.info?.max_payload}, ${navigator.hardwareConcurrency} cores`);
  const small = await createWorld("1M-row table", nc);
  worlds.push(small);
  const large = await createWorld("10M-row table", nc);
  worlds.push(large);
  await fill(small.pool, 0, SMALL);
  await fill(large.pool, 0, LARGE);

  const copy = await copyAlone(large.pool);
  log(
    `(a) COPY TO STDOUT alone, 10M-row table: ${copy.rows.toLocaleString()} rows, ${mb(copy.bytes)} in ${(copy.ms / 1000).toFixed(2)} s, ${rate(copy.rows, copy.ms)}`,
  );
  const initialSmall = await initial(small.extractor, small.label);
  const initialLarge = await initial(large.extractor, large.label, copy.rows / copy.ms);
  const [incSmall = 0, incLarge = 0] = await incremental(worlds);

  log("summary:");
  log(`  extraction ${rate(initialLarge.rows, initialLarge.ms)} (target >= 1 M rows/s)`);
  log(`  peak RSS ${mb(initialSmall.peakRss)} at 1M rows, ${mb(initialLarge.peakRss)} at 10M rows`);
  log(
    `  incremental ${incSmall.toFixed(1)} ms at 1M, ${incLarge.toFixed(1)} ms at 10M, ratio ${(incLarge / incSmall).toFixed(2)} (targets < 50 ms, < 1.5)`,
  );
} finally {
  for (const world of worlds) {
    await deleteStreams(jsm, world.namespace).catch(() => {});
    await world.pool.end();
    await world.db.drop();
  }
  await nc.drain();
  log("dropped the databases and streams");
}
