// bun run bench:generate — rows/s of the generator's batch against PostgreSQL's own
// INSERT ... SELECT generate_series into the same tables, and against the original tool's
// row-by-row INSERTs, all measured in this run on fresh databases.
import { createPool } from "@adpipe/shared/pg";
import { createTestDatabase } from "@adpipe/shared/testing";
import { createOperations } from "../src/operations.ts";

const IMPRESSIONS = Number(process.env.BENCH_IMPRESSIONS ?? 10_000_000);
const CAMPAIGNS_PER_ADVERTISER = 5;
const ADVERTISERS = 2;
const perCampaign = Math.round(IMPRESSIONS / (ADVERTISERS * CAMPAIGNS_PER_ADVERTISER));
const ROW_BY_ROW = 20_000;

const rate = (rows: number, ms: number) => Math.round(rows / (ms / 1000));
const fmt = (n: number) => n.toLocaleString("en");

async function withDatabase<T>(fn: (pool: ReturnType<typeof createPool>) => Promise<T>): Promise<T> {
  const db = await createTestDatabase();
  const pool = createPool({ connectionString: db.url, max: 2 });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
    await db.drop();
  }
}

async function seedCampaigns(pool: ReturnType<typeof createPool>) {
  const ops = createOperations(pool);
  return ops.batch({ advertisers: ADVERTISERS, campaigns: CAMPAIGNS_PER_ADVERTISER, impressions: 0, ctr: 0 });
}

console.log(
  `generator batch: ${ADVERTISERS} advertisers × ${CAMPAIGNS_PER_ADVERTISER} campaigns × ${fmt(perCampaign)} impressions, ctr 0.1`,
);

const generator = await withDatabase(async (pool) => {
  const result = await createOperations(pool).batch({
    advertisers: ADVERTISERS,
    campaigns: CAMPAIGNS_PER_ADVERTISER,
    impressions: perCampaign,
    ctr: 0.1,
  });
  const rows = result.advertiserIds.length + result.campaignIds.length + result.impressions + result.clicks;
  return { rows, ms: result.durationMs };
});

const baseline = await withDatabase(async (pool) => {
  const { campaignIds } = await seedCampaigns(pool);
  const started = performance.now();
  const total = perCampaign * campaignIds.length;
  await pool.query(
    `INSERT INTO impressions (campaign_id, created_at)
     SELECT ($1::bigint[])[1 + (g % $2::int)], LOCALTIMESTAMP FROM generate_series(1, $3::int) AS g`,
    [campaignIds, campaignIds.length, total],
  );
  return { rows: total, ms: performance.now() - started };
});

const rowByRow = await withDatabase(async (pool) => {
  const { campaignIds } = await seedCampaigns(pool);
  const client = await pool.connect();
  const started = performance.now();
  await client.query("BEGIN");
  for (let i = 0; i < ROW_BY_ROW; i++) {
    await client.query("INSERT INTO impressions (campaign_id, created_at) VALUES ($1, $2)", [
      campaignIds[i % campaignIds.length],
      new Date().toISOString().replace("T", " ").replace("Z", ""),
    ]);
  }
  await client.query("COMMIT");
  client.release();
  return { rows: ROW_BY_ROW, ms: performance.now() - started };
});

const line = (name: string, r: { rows: number; ms: number }) =>
  console.log(
    `${name.padEnd(48)} ${fmt(r.rows).padStart(12)} rows ${(r.ms / 1000).toFixed(2).padStart(7)} s ${fmt(rate(r.rows, r.ms)).padStart(10)} rows/s`,
  );
line("generator batch (impressions + clicks + campaigns)", generator);
line("baseline: INSERT ... SELECT generate_series", baseline);
line("original method: one INSERT per row", rowByRow);
console.log(
  `ratio generator / generate_series baseline: ${(rate(generator.rows, generator.ms) / rate(baseline.rows, baseline.ms)).toFixed(2)}`,
);
console.log(
  `ratio generator / row-by-row: ${(rate(generator.rows, generator.ms) / rate(rowByRow.rows, rowByRow.ms)).toFixed(1)}x`,
);
