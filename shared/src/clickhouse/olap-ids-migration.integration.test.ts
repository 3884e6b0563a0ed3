import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestClickHouse, type TestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { uniqueName } from "../config/testing.ts";
import { loadOlapMigrations, migrateOlap } from "./olap-migrate.ts";

// ClickHouse migration 0011_ids_64_bit on a database written with the 32-bit schema: every table
// that holds ids is copied into 64-bit columns (its key columns cannot be altered in place), and
// every row, version and tombstone reads back exactly; the views and the keyed copies' materialized
// views work on ids past 2^32 afterwards.

let ch: TestClickHouse;
let database: string;
beforeAll(async () => {
  ch = await startTestClickHouse();
  database = uniqueName("olap_ids");
});
afterAll(async () => {
  await ch.client.command({ query: `DROP DATABASE IF EXISTS ${database}_seed` });
  await ch.client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  await ch.stop();
});

// Each table with its replacing key: what readers see is the newest version per key (FINAL or
// argMax), so that is compared; a background merge may drop older versions at any moment.
const TABLES: Record<string, string> = {
  advertiser: "id",
  campaign: "id",
  impressions: "id",
  clicks: "id",
  campaign_bids: "id",
  impressions_keyed: "bucket, campaign_id, id",
  clicks_keyed: "bucket, campaign_id, id",
  impressions_buckets: "date, bucket, campaign_id",
  clicks_buckets: "date, bucket, campaign_id",
  advertiser_campaigns: "campaign_id",
  advertiser_campaigns_impressions: "campaign_id, date",
  advertiser_campaigns_clicks: "campaign_id, date",
  advertiser_campaigns_totals_report: "campaign_id",
  advertiser_campaigns_daily_ctr_report: "campaign_id, date",
};
const VIEWS = [
  "advertiser_current",
  "campaign_current",
  "impressions_current",
  "clicks_current",
  "campaign_bids_current",
];
const SEED_VIEWS = [
  "advertiser_campaigns",
  "advertiser_campaigns_impressions",
  "advertiser_campaigns_clicks",
  "advertiser_campaigns_totals_report",
  "advertiser_campaigns_daily_ctr_report",
];

const run = (query: string) => ch.client.command({ query: query.replaceAll("{db}", database) });
// Tab-separated text: an Int32 and an Int64 of the same value read the same.
const text = async (query: string) =>
  (await ch.client.query({ query: query.replaceAll("{db}", database), format: "TabSeparated" })).text();

async function everything(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [t, key] of Object.entries(TABLES))
    out[t] = await text(
      `SELECT * FROM (SELECT * FROM {db}.${t} ORDER BY ${key}, _version DESC LIMIT 1 BY ${key}) ORDER BY ALL`,
    );
  for (const v of VIEWS) out[v] = await text(`SELECT * FROM {db}.${v} ORDER BY ALL`);
  // rtm_timestamp_datetime follows the report's _version, which is fixed here: stable.
  for (const v of SEED_VIEWS) out[`seed.${v}`] = await text(`SELECT * FROM {db}_seed.${v} ORDER BY ALL`);
  return out;
}

test("0011 copies every id column to 64 bits and keeps the 32-bit schema's rows exactly", async () => {
  const all = loadOlapMigrations();
  const old = all.filter((m) => m.version < 11);
  expect(all.map((m) => m.name)).toContain("0011_ids_64_bit");
  await migrateOlap(ch.client, database, undefined, old);

  const max = 2147483647;
  await run(
    `INSERT INTO {db}.advertiser (id, name, created_at, _version, _xid) VALUES (1, 'a', '2026-11-20 10:00:00', 1, 10), (${max}, 'z', NULL, 2, 10)`,
  );
  await run(`INSERT INTO {db}.campaign (id, name, bid, budget, start_date, end_date, advertiser_id, created_at, _version, _xid)
    VALUES (1, 'c1', 1.25, 100, '2026-11-20', '2026-12-20', 1, '2026-11-20 10:00:00', 3, 10),
           (${max}, 'c2', 2.50, 50, NULL, NULL, ${max}, NULL, 4, 10),
           (7, 'gone', 1, 1, NULL, NULL, NULL, NULL, 5, 10)`);
  await run(
    `INSERT INTO {db}.campaign (id, name, bid, budget, _version, _xid, _deleted) VALUES (7, '', 0, 0, 6, 11, 1)`,
  );
  await run(`INSERT INTO {db}.campaign_bids (id, campaign_id, bid, valid_from, _version, _xid)
    VALUES (1, 1, 1.25, '2026-11-20 10:00:00', 7, 10), (${max}, ${max}, 2.50, '2026-11-20 11:00:00', 8, 10)`);
  for (const table of ["impressions", "clicks"]) {
    await run(`INSERT INTO {db}.${table} (id, campaign_id, created_at, _version, _xid)
      SELECT number + 1, if(number % 2 = 0, 1, ${max}), toDateTime64('2026-11-20 10:00:00', 6, 'UTC') + number, 100 + number, 20
      FROM numbers(300)`);
    await run(`INSERT INTO {db}.${table} (id, campaign_id, created_at, _version, _xid) VALUES
      (${max}, ${max}, '2026-11-21 00:00:00.123456', 1000, 21), (${max - 1}, NULL, NULL, 1001, 21)`);
    // A tombstone and a move's tombstone, as the extractor sends them.
    await run(`INSERT INTO {db}.${table} (id, campaign_id, created_at, _version, _xid, _deleted) VALUES
      (5, 1, '2026-11-20 10:00:04', 2000, 22, 1), (6, NULL, NULL, 2001, 22, 1)`);
  }
  await run(`INSERT INTO {db}.truncations (table_name, _version, _xid) VALUES ('clicks', 50, 5)`);
  // Report rows as a reporter writes them (values need not be consistent for a copy).
  for (const table of ["impressions_buckets", "clicks_buckets"])
    await run(`INSERT INTO {db}.${table} (date, bucket, campaign_id, n, _version, cost)
      VALUES ('2026-11-20', 0, 1, 150, 9, 1.25), (NULL, 32767, ${max}, 1, 9, NULL), ('2026-11-21', 1, 2, 0, 10, 0)`);
  await run(`INSERT INTO {db}.advertiser_campaigns (campaign_id, campaign_name, advertiser_id, advertiser_name, bid, budget, _version)
    VALUES (1, 'c1', 1, 'a', 1.25, 100, 9), (${max}, 'c2', ${max}, 'z', 2.5, 50, 9)`);
  for (const [table, col] of [
    ["advertiser_campaigns_impressions", "impressions"],
    ["advertiser_campaigns_clicks", "clicks"],
  ])
    await run(`INSERT INTO {db}.${table} (campaign_id, date, advertiser_id, ${col}, cost, _version)
      VALUES (1, '2026-11-20', 1, 150, 3.75, 9), (${max}, '2026-11-21', ${max}, 1, 0, 9)`);
  await run(`INSERT INTO {db}.advertiser_campaigns_totals_report
    (campaign_id, campaign_name, advertiser_id, advertiser_name, bid, budget, start_date, end_date, impressions, clicks, ctr,
     spend, cost, budget_remaining, budget_used_pct, budget_status, days_total, days_elapsed, days_remaining, daily_norm,
     daily_used, pacing, cpm, cpc, period_status, report_date, _version)
    VALUES (1, 'c1', 1, 'a', 1.25, 100, '2026-11-20', '2026-12-20', 150, 150, 100, 187.5, 187.5, -87.5, 187.5, 'exceeded',
            31, 2, 29, 3.23, 93.75, 29.03, 1250, 1.25, 'active', '2026-11-21', 9),
           (${max}, 'c2', ${max}, 'z', 2.5, 50, NULL, NULL, 151, 151, 100, 377.5, 377.5, -327.5, 755, 'exceeded',
            0, 0, 0, 0, 0, 0, 2500, 2.5, 'unscheduled', '2026-11-21', 9)`);
  await run(`INSERT INTO {db}.advertiser_campaigns_daily_ctr_report
    (campaign_id, date, advertiser_id, day_number, impressions, clicks, ctr, _version)
    VALUES (1, '2026-11-20', 1, 1, 150, 150, 100, 9), (${max}, '2026-11-21', ${max}, NULL, 1, 1, 100, 9)`);

  const before = await everything();
  expect(before.impressions_keyed?.split("\n").length).toBeGreaterThan(300);
  expect(before.impressions).toContain("2000\t22\t1\n"); // a tombstone
  expect(before["seed.advertiser_campaigns"]).toContain(String(max));

  const { applied } = await migrateOlap(ch.client, database);
  expect(applied).toEqual(all.filter((m) => m.version >= 11).map((m) => m.name));
  expect(await everything()).toEqual(before);

  const narrow = await text(`SELECT database || '.' || table || '.' || name FROM system.columns
    WHERE database IN ('{db}', '{db}_seed') AND (name IN ('id', 'campaign_id', 'advertiser_id', 'bucket') OR name LIKE 'rtm\\_%\\_id')
      AND type NOT LIKE '%Int64%' ORDER BY ALL`);
  expect(narrow).toBe("");
  const leftovers = await text(
    `SELECT name FROM system.tables WHERE database = '{db}' AND (name LIKE '%\\_ids32' OR name LIKE '%\\_ids64')`,
  );
  expect(leftovers).toBe("");

  // After it: ids past 2^32 through the fact table, its keyed copy and the views.
  const big = 5_000_000_000;
  await run(`INSERT INTO {db}.campaign (id, name, bid, budget, advertiser_id, _version, _xid)
    VALUES (${big}, 'big', 1, 1, ${big + 1}, 3000, 30)`);
  await run(`INSERT INTO {db}.impressions (id, campaign_id, created_at, _version, _xid)
    VALUES (${big + 7}, ${big}, '2026-11-22 00:00:00', 3001, 30)`);
  expect(await text(`SELECT id, campaign_id FROM {db}.impressions_current WHERE id > ${max}`)).toBe(
    `${big + 7}\t${big}\n`,
  );
  expect(await text(`SELECT bucket, campaign_id, id FROM {db}.impressions_keyed WHERE id > ${max}`)).toBe(
    `${Math.floor((big + 7) / 65536)}\t${big}\t${big + 7}\n`,
  );
  expect(await text(`SELECT id, advertiser_id FROM {db}.campaign_current WHERE id = ${big}`)).toBe(
    `${big}\t${big + 1}\n`,
  );
});

test("0011 run again from the top (a resumed run) changes nothing", async () => {
  const before = await everything();
  const [latest] = loadOlapMigrations().filter((m) => m.name === "0011_ids_64_bit");
  for (const statement of latest?.statements ?? [])
    await ch.client.command({ query: statement.replaceAll("{database}", database) });
  expect(await everything()).toEqual(before);
});
