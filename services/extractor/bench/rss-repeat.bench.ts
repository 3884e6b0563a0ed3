/**
 * `bun run bench:extract-rss`: extracts one 3-million-row impressions table six times in one
 * process (resync between runs) and prints peak RSS and heap per run, to tell a leak (RSS
 * climbing run after run) from garbage-collection noise; the baseline is the first run (the ratio
 * of the last run's peak to it). Drops what it creates.
 */
import { createLogger } from "@adpipe/shared/logger";
import { connectNats, deleteStreams, ensureStreams } from "@adpipe/shared/nats";
import { createPool } from "@adpipe/shared/pg";
import { createTestDatabase, uniqueName } from "@adpipe/shared/testing";
import { loadConfig } from "../src/config.ts";
import { createExtractor } from "../src/extractor.ts";

const ROWS = 3_000_000;
const RUNS = 6;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

const db = await createTestDatabase();
const namespace = uniqueName("rss");
const pool = createPool({ connectionString: db.url, max: 12 });
const nc = await connectNats({ url: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
const jsm = await nc.jetstreamManager();
try {
  await ensureStreams(jsm, namespace);
  const extractor = createExtractor({
    pool,
    js: nc.jetstream(),
    maxPayload: nc.info?.max_payload ?? 1024 * 1024,
    config: loadConfig({ DATABASE_URL: db.url, ADPIPE_NAMESPACE: namespace }),
    logger: createLogger("bench", "warn"),
  });
  await pool.query(
    "INSERT INTO advertiser (name) VALUES ('a'); INSERT INTO campaign (name, bid, budget, advertiser_id) VALUES ('c', 1, 1, 1)",
  );
  await pool.query(`INSERT INTO impressions (campaign_id) SELECT 1 FROM generate_series(1, ${ROWS})`);
  await pool.query("ANALYZE impressions");
  const peaks: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    await extractor.resync("impressions");
    let peak = 0;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const started = performance.now();
    await extractor.extract("impressions");
    clearInterval(timer);
    peaks.push(peak);
    const { heapUsed } = process.memoryUsage();
    console.log(
      `run ${run + 1}: ${ROWS.toLocaleString()} rows in ${(performance.now() - started).toFixed(0)} ms, peak RSS ${mb(peak)}, heap ${mb(heapUsed)}`,
    );
  }
  console.log(
    `peak RSS, last run / first run: ${((peaks.at(-1) ?? 0) / (peaks[0] ?? 1)).toFixed(2)}x (a leak keeps climbing; noise stays near 1)`,
  );
} finally {
  await deleteStreams(jsm, namespace).catch(() => {});
  await nc.drain();
  await pool.end();
  await db.drop();
}
