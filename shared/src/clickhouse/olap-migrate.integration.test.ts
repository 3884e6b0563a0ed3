import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestClickHouse, type TestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { uniqueName } from "../config/testing.ts";
import { loadOlapMigrations, migrateOlap, splitStatements } from "./olap-migrate.ts";

let ch: TestClickHouse;
beforeAll(async () => {
  ch = await startTestClickHouse();
});
afterAll(() => ch.stop());

const tables = async (database: string) =>
  ch.client
    .query({
      query: "SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name",
      query_params: { db: database },
      format: "JSONEachRow",
    })
    .then((r) => r.json<{ name: string }>())
    .then((rows) => rows.map((r) => r.name));

const recorded = async (database: string) =>
  ch.client
    .query({
      query: `SELECT name FROM ${database}.schema_migrations FINAL ORDER BY version`,
      format: "JSONEachRow",
    })
    .then((r) => r.json<{ name: string }>())
    .then((rows) => rows.map((r) => r.name));

describe("OLAP migrations", () => {
  const all = loadOlapMigrations();

  test("files split into idempotent statements", () => {
    expect(all.map((m) => m.name)).toEqual([
      "0001_entities",
      "0002_current_views",
      "0003_reports",
      "0004_progress",
      "0006_seed_views",
      "0007_fact_buckets",
      "0008_fact_keys",
      "0009_bid_history_and_cost",
      "0010_progress_time_indexes",
      "0011_ids_64_bit",
    ]);
    expect(
      splitStatements("-- a; comment\nCREATE TABLE IF NOT EXISTS a (x UInt8) ENGINE = Memory;\nSELECT ';'\n"),
    ).toEqual(["CREATE TABLE IF NOT EXISTS a (x UInt8) ENGINE = Memory", "SELECT ';'"]);
  });

  test("apply to an empty server, then re-apply as a no-op", async () => {
    const database = uniqueName("olap");
    try {
      const first = await migrateOlap(ch.client, database);
      expect(first.applied).toEqual(all.map((m) => m.name));
      const expected = [
        "advertiser",
        "advertiser_campaigns",
        "advertiser_campaigns_clicks",
        "advertiser_campaigns_daily_ctr_report",
        "advertiser_campaigns_impressions",
        "advertiser_campaigns_totals_report",
        "advertiser_current",
        "campaign",
        "campaign_bids",
        "campaign_bids_current",
        "campaign_current",
        "clicks",
        "clicks_buckets",
        "clicks_current",
        "clicks_keyed",
        "clicks_keyed_mv",
        "impressions",
        "impressions_buckets",
        "impressions_current",
        "impressions_keyed",
        "impressions_keyed_mv",
        "loaded_batches",
        "reported_batches",
        "schema_migrations",
        "truncations",
      ];
      expect(await tables(database)).toEqual(expected);
      // The original design's five tables, as views in <database>_seed.
      const seedViews = [
        "advertiser_campaigns",
        "advertiser_campaigns_clicks",
        "advertiser_campaigns_daily_ctr_report",
        "advertiser_campaigns_impressions",
        "advertiser_campaigns_totals_report",
      ];
      expect(await tables(`${database}_seed`)).toEqual(seedViews);
      const again = await migrateOlap(ch.client, database);
      expect(again.applied).toEqual([]);
      expect(await recorded(database)).toEqual(all.map((m) => m.name));
      expect(await tables(database)).toEqual(expected);
      expect(await tables(`${database}_seed`)).toEqual(seedViews);
    } finally {
      await ch.client.command({ query: `DROP DATABASE IF EXISTS ${database}_seed` });
      await ch.client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    }
  });

  test("a run interrupted half-way through a file resumes", async () => {
    const database = uniqueName("olap");
    try {
      // The second file fails after its first two statements ran, as a crash would leave it.
      const [first, second] = all as [(typeof all)[0], (typeof all)[0]];
      const broken = {
        ...second,
        statements: [
          ...second.statements.slice(0, 2),
          "CREATE TABLE IF NOT EXISTS {database}.broken (x UInt8) ENGINE = NoSuchEngine",
        ],
      };
      await expect(migrateOlap(ch.client, database, undefined, [first, broken])).rejects.toThrow();
      expect(await recorded(database)).toEqual(["0001_entities"]);
      expect(await tables(database)).toContain("campaign_current");

      const resumed = await migrateOlap(ch.client, database);
      expect(resumed.applied).toEqual([
        "0002_current_views",
        "0003_reports",
        "0004_progress",
        "0006_seed_views",
        "0007_fact_buckets",
        "0008_fact_keys",
        "0009_bid_history_and_cost",
        "0010_progress_time_indexes",
        "0011_ids_64_bit",
      ]);
      expect(await recorded(database)).toEqual(all.map((m) => m.name));
    } finally {
      await ch.client.command({ query: `DROP DATABASE IF EXISTS ${database}_seed` });
      await ch.client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    }
  });

  test("an applied migration whose file changed is refused", async () => {
    const database = uniqueName("olap");
    try {
      await migrateOlap(ch.client, database);
      const changed = all.map((m, i) => (i === 0 ? { ...m, checksum: "different" } : m));
      await expect(migrateOlap(ch.client, database, undefined, changed)).rejects.toThrow(
        /changed after it was applied/,
      );
    } finally {
      await ch.client.command({ query: `DROP DATABASE IF EXISTS ${database}_seed` });
      await ch.client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    }
  });
});
