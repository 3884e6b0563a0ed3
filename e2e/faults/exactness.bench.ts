// `bun run e2e/faults/exactness.bench.ts [--rows N]`: how long the fault suite's comparison of
// PostgreSQL and ClickHouse takes on a grown impressions table (the suite's seed plus N rows,
// default 2,000,000), each part timed: the tables exact (PostgreSQL's sums read, then kept), one
// row wrong, the last 300,000 rows not yet loaded (a big transaction on its way), and the
// PostgreSQL side of the KPI comparison.
import { parseArgs } from "node:util";
import { startTestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { TABLES } from "@adpipe/shared/contract";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
import { createPool } from "@adpipe/shared/pg";
import { createTestDatabase } from "@adpipe/shared/testing";
import { TRUTH_CAMPAIGNS } from "@adpipe/testing/truth";
import { copyToClickHouse } from "./copy.ts";
import { compareTables, formatTimings } from "./exactness.ts";
import type { PostgresSumsCache } from "./pg-sums.ts";
import { seed } from "./writer.ts";

const { values } = parseArgs({ options: { rows: { type: "string", default: "2000000" } } });
const rows = Number(values.rows);
const db = await createTestDatabase();
const pool = createPool({ connectionString: db.url, max: 4 });
const chs = await startTestClickHouse();
const time = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
  const started = performance.now();
  const r = await f();
  console.log(`${what}: ${((performance.now() - started) / 1000).toFixed(2)} s`);
  return r;
};
try {
  await migrateOlap(chs.client, chs.database);
  const campaigns = await seed(pool);
  for (const t of TABLES) await copyToClickHouse(pool, chs.client, t);
  // The grown table, made the same on both sides (ids after the seed's, 50 campaigns, one a microsecond apart).
  const first = 1_000_000;
  const [lo, n] = [Math.min(...campaigns), campaigns.length];
  await time(`${rows} impressions into both`, async () => {
    await pool.query(
      `INSERT INTO impressions (id, campaign_id, created_at)
       SELECT ${first} + n, ${lo} + n % ${n}, timestamp '2026-12-01' + n * interval '1 microsecond' FROM generate_series(0, ${rows - 1}) n`,
    );
    await pool.query("ANALYZE impressions");
    await chs.client.command({
      query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid)
              SELECT ${first} + number, ${lo} + number % ${n}, toDateTime64('2026-12-01 00:00:00', 6, 'UTC') + toIntervalMicrosecond(number), 1, 1
              FROM numbers(${rows})`,
    });
  });
  const cache = new Map();
  const run = async (what: string, detail: boolean, kept?: PostgresSumsCache) => {
    const r = await compareTables(pool, chs.client, { detail, cache: kept });
    const d = r.tables.impressions;
    console.log(
      `${what}, ${detail ? "row by row where different" : "ranges only"}: exact ${r.exact}; impressions lost ${d.lost}, extra ${d.extra}, wrong ${d.wrong}; ${formatTimings(r.timings)}`,
    );
  };
  for (const detail of [false, true]) await run("exact", detail);
  await run("exact, PostgreSQL's sums read", false, cache);
  await run("exact again, PostgreSQL's sums kept", false, cache);
  const one = first + Math.floor(rows / 2);
  await pool.query(
    `UPDATE impressions SET created_at = created_at + interval '1 microsecond' WHERE id = ${one}`,
  );
  for (const detail of [false, true]) await run("one row wrong", detail);
  await pool.query(
    `UPDATE impressions SET created_at = created_at - interval '1 microsecond' WHERE id = ${one}`,
  );
  const from = first + rows - 300_000;
  await copyToClickHouse(pool, chs.client, "impressions", { where: `id >= ${from}`, version: 2, deleted: 1 });
  for (const detail of [false, true]) await run("300,000 rows not loaded", detail);
  const now = new Date().toISOString();
  await time("KPIs from PostgreSQL (TRUTH_CAMPAIGNS)", () =>
    pool.query(TRUTH_CAMPAIGNS, [now.slice(0, 10), now.slice(0, 19).replace("T", " ")]),
  );
} finally {
  await pool.end();
  await db.drop();
  await chs.stop();
}
