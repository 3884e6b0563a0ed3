/**
 * `bun run bench:verify`: how fast the verifier compares a 10-million-row impressions table
 * between PostgreSQL and ClickHouse (rows/s, and the ratio to ClickHouse's own postgresql() pull
 * of the same table into a plain MergeTree, timed in the same run), how fast it finds 1 % of the
 * rows deleted at scattered ids, how long an incremental run takes after a 10,000-row change
 * (scattered updates, then new rows), and what a running verification costs a concurrent extraction. Impressions are interleaved over 20 campaigns (as the generator writes them);
 * ClickHouse is loaded straight from PostgreSQL with its postgresql() table function. Every
 * database, namespace and folder is removed at the end.
 */
import { startTestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { createLogger } from "@adpipe/shared/logger";
import { connectNats, deleteStreams, ensureStreams } from "@adpipe/shared/nats";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
import { createPool } from "@adpipe/shared/pg";
import { createTestDatabase, uniqueName } from "@adpipe/shared/testing";
import { loadConfig } from "../src/config.ts";
import { createExtractor } from "../src/extractor.ts";
import { findDifferences } from "../src/verify/compare.ts";
import { currentSnapshot, tableDifferences } from "../src/verify/incremental.ts";
import { loadVerifyQueries } from "../src/verify/queries.ts";
import { clickhouseSide, comparedColumns, postgresSide } from "../src/verify/sides.ts";

const ROWS = Number(process.env.BENCH_VERIFY_ROWS ?? 10_000_000);
const NEW_ROWS = 200_000;
const ROUNDS = 6;
const CHUNK = 100_000;
const CONCURRENCY = Number(process.env.BENCH_VERIFY_CONCURRENCY ?? 2);
const log = (line: string) => console.log(line);
const rate = (rows: number, ms: number) =>
  `${((rows / ms) * 1000).toLocaleString("en", { maximumFractionDigits: 0 })} rows/s`;

const db = await createTestDatabase();
const pool = createPool({ connectionString: db.url, max: 6 });
const ch = await startTestClickHouse();
const nc = await connectNats({ url: process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222" });
const namespace = uniqueName("benchverify");
try {
  await migrateOlap(ch.client, ch.database);
  await ensureStreams(await nc.jetstreamManager(), namespace);

  let started = performance.now();
  await pool.query("INSERT INTO advertiser (name) VALUES ('bench')");
  await pool.query(
    "INSERT INTO campaign (name, bid, budget, advertiser_id) SELECT 'c' || g, 1.5, 1000, 1 FROM generate_series(1, 20) g",
  );
  // The foreign-key check is most of an INSERT's cost here; the rows are valid by construction, so
  // the fill skips it (session_replication_role = replica: the bench runs as a superuser).
  const filler = await pool.connect();
  try {
    await filler.query("SET session_replication_role = replica");
    for (let from = 0; from < ROWS; from += 1_000_000) {
      await filler.query(
        `INSERT INTO impressions (campaign_id, created_at)
         SELECT 1 + g % 20, timestamp '2026-11-20' - (g % 604800) * interval '1 second' + (g % 997) * interval '1 microsecond'
         FROM generate_series($1::int, $2::int - 1) g`,
        [from, Math.min(from + 1_000_000, ROWS)],
      );
    }
    await filler.query("RESET session_replication_role");
  } finally {
    filler.release();
  }
  await pool.query("VACUUM ANALYZE impressions");
  log(
    `fill PostgreSQL: ${ROWS.toLocaleString("en")} impressions in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  // ClickHouse reads the rows straight from PostgreSQL (the bench's own view turns xid8 into a number).
  started = performance.now();
  await pool.query(
    "CREATE VIEW bench_impressions AS SELECT id, campaign_id, created_at, _version, _xid::text::bigint AS xid FROM impressions",
  );
  const pg = new URL(db.url);
  const source = `postgresql('${pg.hostname}:${pg.port || 5432}', '${db.name}', 'bench_impressions', '${decodeURIComponent(pg.username)}', '${decodeURIComponent(pg.password)}')`;
  // A million rows per statement: each stays well inside the client's request timeout.
  const { rows: span } = await pool.query<{ hi: number }>("SELECT max(id) AS hi FROM impressions");
  for (let from = 0; from <= Number(span[0]?.hi ?? 0); from += 1_000_000) {
    await ch.client.command({
      query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid)
              SELECT id, campaign_id, created_at, _version, xid FROM ${source}
              WHERE id >= ${from} AND id < ${from + 1_000_000}`,
    });
  }
  log(`fill ClickHouse: postgresql() table function, ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const queries = loadVerifyQueries();
  const { columns } = await comparedColumns(pool, ch.client, "impressions");
  const pgSide = postgresSide(pool, "impressions", columns);
  const chSide = clickhouseSide(ch.client, queries, "impressions", columns);
  const options = { chunkIds: CHUNK, leafIds: 16_384, concurrency: CONCURRENCY };
  // Everything so far counts as published (the extractor's watermark).
  const published = `INSERT INTO adpipe_watermark (table_name, xid) VALUES ('impressions', pg_snapshot_xmin(pg_current_snapshot()))
     ON CONFLICT (table_name) DO UPDATE SET xid = EXCLUDED.xid, pending_xid = NULL`;
  await pool.query(published);

  // The reference: ClickHouse pulling the whole table from PostgreSQL into a plain MergeTree.
  await ch.client.command({
    query:
      "CREATE TABLE bench_pull (id Int32, campaign_id Nullable(Int32), created_at Nullable(DateTime64(6, 'UTC'))) ENGINE = MergeTree ORDER BY id",
  });
  started = performance.now();
  await ch.client.command({
    query: `INSERT INTO bench_pull SELECT id, campaign_id, created_at FROM ${source}`,
    clickhouse_settings: { max_execution_time: 3600 },
  });
  const pullMs = performance.now() - started;
  await ch.client.command({ query: "DROP TABLE bench_pull" });
  log(`postgresql() pull into a plain MergeTree: ${(pullMs / 1000).toFixed(2)} s, ${rate(ROWS, pullMs)}`);

  started = performance.now();
  const alone = await findDifferences(pgSide, chSide, options);
  const verifyMs = performance.now() - started;
  if (alone.ids.length !== 0) throw new Error(`expected no drift, found ${alone.ids.length} ids`);
  log(
    `full pass: ${alone.stats.rows.toLocaleString("en")} rows in ${alone.stats.ranges} ranges of ${CHUNK.toLocaleString("en")} ids, ${CONCURRENCY} at a time, ` +
      `${(verifyMs / 1000).toFixed(2)} s, ${rate(alone.stats.rows, verifyMs)} checked`,
  );
  log(`ratio: full pass / postgresql() pull = ${(verifyMs / pullMs).toFixed(2)}`);

  // Incremental runs after a 10,000-row change, applied to both sides as the pipeline would.
  const compare = { pool, table: "impressions" as const, columns, pg: pgSide, ch: chSide, options };
  async function incremental(what: string, change: () => Promise<void>): Promise<void> {
    await pool.query(published);
    const mark = { snapshot: await currentSnapshot(pool), pending: [] };
    await change();
    const t = performance.now();
    const run = await tableDifferences(compare, mark);
    const ms = performance.now() - t;
    if (run.ids.length !== 0 || run.mode !== "incremental")
      throw new Error(`incremental run: ${run.mode}, ${run.ids.length} ids`);
    log(
      `incremental run after ${what}: ${run.stats.rows.toLocaleString("en")} rows checked in ${run.stats.ranges} ranges, ` +
        `${(ms / 1000).toFixed(2)} s (${((ms / verifyMs) * 100).toFixed(1)} % of the full pass)`,
    );
  }
  const step = Math.floor(ROWS / 10_000);
  await incremental("10,000 rows updated at scattered ids", async () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => 1 + i * step);
    await pool.query(
      "UPDATE impressions SET created_at = created_at + interval '1 second' WHERE id = ANY($1)",
      [ids],
    );
    await ch.client.command({
      query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid)
              SELECT id, campaign_id, created_at, _version, xid FROM ${source} WHERE id IN (${ids.join(",")})`,
    });
  });
  await incremental("10,000 new rows", async () => {
    const { rows } = await pool.query<{ hi: string }>("SELECT max(id)::text AS hi FROM impressions");
    await pool.query(
      "INSERT INTO impressions (campaign_id, created_at) SELECT 1 + g % 20, timestamp '2026-11-21' FROM generate_series(1, 10000) g",
    );
    await ch.client.command({
      query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid)
              SELECT id, campaign_id, created_at, _version, xid FROM ${source} WHERE id > ${rows[0]?.hi ?? 0}`,
    });
  });

  // Drift in the middle of the table: the time bisection adds to find 3 rows among 10 million.
  await ch.client.command({
    query: `ALTER TABLE impressions DELETE WHERE id IN (${Math.floor(ROWS / 2)}, ${Math.floor(ROWS / 2) + 1}, ${Math.floor(ROWS / 3)})`,
    clickhouse_settings: { mutations_sync: "2" },
  });
  started = performance.now();
  const drifted = await findDifferences(pgSide, chSide, options);
  const driftMs = performance.now() - started;
  log(
    `verification with 3 rows missing: found ${drifted.ids.length} ids in ${drifted.stats.ranges} ranges, ` +
      `${(driftMs / 1000).toFixed(1)} s, ${rate(drifted.stats.rows, driftMs)} checked`,
  );

  // 1 % of the rows deleted in ClickHouse at scattered ids: what a repair has to find first.
  await ch.client.command({
    query: "ALTER TABLE impressions DELETE WHERE cityHash64(id) % 100 = 7",
    clickhouse_settings: { mutations_sync: "2" },
  });
  started = performance.now();
  const scattered = await findDifferences(pgSide, chSide, options);
  const scatteredMs = performance.now() - started;
  log(
    `verification with 1 % deleted at scattered ids: found ${scattered.ids.length.toLocaleString("en")} ids in ${scattered.stats.ranges} ranges, ` +
      `${(scatteredMs / 1000).toFixed(2)} s (${(scatteredMs / verifyMs).toFixed(1)} × the clean pass)`,
  );
  // Put them back, so the extraction rounds below run beside a verification of equal tables.
  await ch.client.command({
    query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid)
            SELECT id, campaign_id, created_at, _version, xid FROM ${source} WHERE cityHash64(id) % 100 = 7`,
  });

  // Extraction of new rows, alone and during a verification, alternating rounds.
  const logger = createLogger("bench", "silent");
  const extractor = createExtractor({
    pool,
    js: nc.jetstream(),
    maxPayload: nc.info?.max_payload ?? 1 << 20,
    config: loadConfig({ DATABASE_URL: db.url, ADPIPE_NAMESPACE: namespace }),
    logger,
  });
  // Everything so far counts as published: rounds extract only their new rows.
  await pool.query(published);
  const times: Record<"alone" | "verifying", number[]> = { alone: [], verifying: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const mode = round % 2 === 0 ? "alone" : "verifying";
    await pool.query(
      `INSERT INTO impressions (campaign_id, created_at) SELECT 1 + g % 20, timestamp '2026-11-21' FROM generate_series(1, ${NEW_ROWS}) g`,
    );
    let stop = false;
    let background: Promise<unknown> = Promise.resolve();
    if (mode === "verifying") {
      const onChunk = () => {
        if (stop) throw new Error("stopped");
      };
      background = (async () => {
        while (!stop) await findDifferences(pgSide, chSide, { ...options, onChunk }).catch(() => undefined);
      })();
      await Bun.sleep(1000); // well inside the first chunks
    }
    const t = performance.now();
    const { results } = await extractor.extract("impressions");
    const ms = performance.now() - t;
    stop = true;
    await background;
    const rows = results[0]?.rows ?? 0;
    if (rows !== NEW_ROWS) throw new Error(`round ${round}: extracted ${rows} rows, expected ${NEW_ROWS}`);
    times[mode].push(ms);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const a = median(times.alone);
  const v = median(times.verifying);
  log(
    `extraction of ${NEW_ROWS.toLocaleString("en")} new rows alone: median ${rate(NEW_ROWS, a)} (${times.alone.map((x) => x.toFixed(0)).join(", ")} ms)`,
  );
  log(
    `extraction of ${NEW_ROWS.toLocaleString("en")} new rows during a verification: median ${rate(NEW_ROWS, v)} (${times.verifying.map((x) => x.toFixed(0)).join(", ")} ms)`,
  );
  log(`ratio: extraction during a verification runs at ${((a / v) * 100).toFixed(0)}% of its speed alone`);
} finally {
  await deleteStreams(await nc.jetstreamManager(), namespace).catch(() => undefined);
  await nc.close();
  await ch.stop();
  await pool.end();
  await db.drop();
}
