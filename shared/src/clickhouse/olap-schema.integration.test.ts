import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Readable } from "node:stream";
import { startTestClickHouse, type TestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import {
  BARE_DELETE_COLUMNS,
  DELETE_COLUMNS,
  DELTA_FORMAT,
  type DeltaKind,
  type TableName,
  TRUNCATE_COLUMNS,
  targetTable,
  UPSERT_COLUMNS,
} from "../contract.ts";
import { migrateOlap } from "./olap-migrate.ts";

let ch: TestClickHouse;
beforeAll(async () => {
  ch = await startTestClickHouse();
  await migrateOlap(ch.client, ch.database);
});
afterAll(() => ch.stop());

const columnsFor = (table: TableName, kind: DeltaKind) =>
  kind === "upsert" ? UPSERT_COLUMNS[table] : kind === "delete" ? BARE_DELETE_COLUMNS : TRUNCATE_COLUMNS;

/** A delta batch exactly as the loader inserts it: PostgreSQL COPY text bytes, passed through. */
async function load(
  table: TableName,
  kind: DeltaKind,
  lines: string[],
  batchId?: string,
  columns: readonly string[] = columnsFor(table, kind),
) {
  const bytes = Buffer.from(`${lines.join("\n")}\n`);
  await ch.client.insert({
    table: targetTable(table, kind),
    values: Readable.from([bytes], { objectMode: false }),
    format: DELTA_FORMAT,
    columns: [...columns] as [string, ...string[]],
    clickhouse_settings: batchId ? { insert_deduplication_token: batchId } : {},
  });
}

// Ids are Int64, which a server quotes in JSON by default: read unquoted, as the services do.
const unquoted = { output_format_json_quote_64bit_integers: 0 } as const;
const current = (table: TableName) =>
  ch.client
    .query({
      query: `SELECT * FROM ${table}_current ORDER BY id`,
      format: "JSONEachRow",
      clickhouse_settings: unquoted,
    })
    .then((r) => r.json());

// What `COPY (SELECT <UPSERT_COLUMNS>) TO STDOUT` writes: tabs, \N for NULL, escaped text.
const advertisers = [
  "1\tAdvertiser A\t\\N\t2026-11-20 10:00:00.123456\t1\t700",
  "2\tTab\\there \\\\ back\t2026-11-21 08:00:00\t2026-11-20 10:00:01\t2\t700",
];
const campaigns = [
  "1\tCampaign_A_1\t1.25\t100.00\t2026-11-24\t2026-12-01\t1\t\\N\t2026-11-20 10:00:02\t3\t700",
  "2\tCampaign_B_1\t5.00\t500.50\t\\N\t\\N\t\\N\t\\N\t2026-11-20 10:00:03\t4\t700",
];
const impressions = [1, 2, 3].map((id) => `${id}\t1\t2026-11-2${id} 12:00:00.00000${id}\t${10 + id}\t700`);
const clicks = ["1\t1\t2026-11-21 12:00:30\t20\t700", "2\t\\N\t\\N\t21\t700"];

async function loadAll() {
  await load("advertiser", "upsert", advertisers);
  await load("campaign", "upsert", campaigns);
  await load("impressions", "upsert", impressions);
  await load("clicks", "upsert", clicks);
}

describe("entity tables: the _current views return exactly what PostgreSQL holds", () => {
  test("COPY text bytes load with every type intact, and loading the same batch twice changes nothing", async () => {
    await loadAll();
    const first = {
      advertiser: await current("advertiser"),
      campaign: await current("campaign"),
      impressions: await current("impressions"),
      clicks: await current("clicks"),
    };
    expect(first.advertiser).toEqual([
      { id: 1, name: "Advertiser A", updated_at: null, created_at: "2026-11-20 10:00:00.123456" },
      {
        id: 2,
        name: "Tab\there \\ back",
        updated_at: "2026-11-21 08:00:00.000000",
        created_at: "2026-11-20 10:00:01.000000",
      },
    ]);
    expect(first.campaign).toEqual([
      {
        id: 1,
        name: "Campaign_A_1",
        bid: 1.25,
        budget: 100,
        start_date: "2026-11-24",
        end_date: "2026-12-01",
        advertiser_id: 1,
        updated_at: null,
        created_at: "2026-11-20 10:00:02.000000",
      },
      {
        id: 2,
        name: "Campaign_B_1",
        bid: 5,
        budget: 500.5,
        start_date: null,
        end_date: null,
        advertiser_id: null,
        updated_at: null,
        created_at: "2026-11-20 10:00:03.000000",
      },
    ]);
    expect(first.impressions).toEqual([
      { id: 1, campaign_id: 1, created_at: "2026-11-21 12:00:00.000001" },
      { id: 2, campaign_id: 1, created_at: "2026-11-22 12:00:00.000002" },
      { id: 3, campaign_id: 1, created_at: "2026-11-23 12:00:00.000003" },
    ]);
    expect(first.clicks).toEqual([
      { id: 1, campaign_id: 1, created_at: "2026-11-21 12:00:30.000000" },
      { id: 2, campaign_id: null, created_at: null },
    ]);

    await loadAll();
    expect(await current("advertiser")).toEqual(first.advertiser);
    expect(await current("campaign")).toEqual(first.campaign);
    expect(await current("impressions")).toEqual(first.impressions);
    expect(await current("clicks")).toEqual(first.clicks);
  });

  test("an older version loaded after a newer one does not win", async () => {
    await load("campaign", "upsert", [
      "1\tCampaign_A_1\t2.50\t200.00\t2026-11-24\t2026-12-08\t1\t2026-11-22 09:00:00\t2026-11-20 10:00:02\t50\t701",
    ]);
    await load("campaign", "upsert", [
      "1\tstale\t0.10\t1.00\t2026-11-24\t2026-12-01\t1\t2026-11-21 09:00:00\t2026-11-20 10:00:02\t40\t702",
    ]);
    const [one] = (await current("campaign")) as [
      { name: string; bid: number; budget: number; end_date: string },
    ];
    expect(one).toMatchObject({ name: "Campaign_A_1", bid: 2.5, budget: 200, end_date: "2026-12-08" });
  });

  test("a row that moved to another campaign is filtered by its newest version only", async () => {
    await load("impressions", "upsert", ["3\t2\t2026-11-23 12:00:00.000003\t55\t703"]);
    const ids = (campaign: number) =>
      ch.client
        .query({
          query: "SELECT id FROM impressions_current WHERE campaign_id = {c:Int64} ORDER BY id",
          query_params: { c: campaign },
          format: "JSONEachRow",
          clickhouse_settings: unquoted,
        })
        .then((r) => r.json<{ id: number }>())
        .then((rows) => rows.map((r) => r.id));
    expect(await ids(1)).toEqual([1, 2]);
    expect(await ids(2)).toEqual([3]);
  });

  test("a delete tombstone removes the row, also when older versions arrive later or it comes twice", async () => {
    await load("impressions", "delete", ["2\t60\t704\t1"]);
    await load("impressions", "delete", ["2\t60\t704\t1"]);
    await load("impressions", "upsert", ["2\t1\t2026-11-22 12:00:00.000002\t12\t705"]);
    expect((await current("impressions")).map((r) => (r as { id: number }).id)).toEqual([1, 3]);
    // The tombstone carries only id, _version, _deleted; nothing else leaks into the view.
    const raw = await ch.client
      .query({
        query: "SELECT id, campaign_id, _deleted FROM impressions FINAL WHERE id = 2",
        format: "JSONEachRow",
      })
      .then((r) => r.json());
    expect(raw).toEqual([]);
  });

  test("a fact's tombstone as the extractor writes it (with its campaign and time) removes the row and keeps them", async () => {
    await load("impressions", "upsert", ["4\t1\t2026-11-23 12:00:00.000004\t75\t706"]);
    await load(
      "impressions",
      "delete",
      ["4\t1\t2026-11-23 12:00:00.000004\t80\t707\t1"],
      undefined,
      DELETE_COLUMNS.impressions,
    );
    expect((await current("impressions")).map((r) => (r as { id: number }).id)).toEqual([1, 3]);
    const stored = await ch.client
      .query({
        query:
          "SELECT campaign_id, toString(created_at) AS created_at, _version FROM impressions WHERE id = 4 AND _deleted = 1",
        format: "JSONEachRow",
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      })
      .then((r) => r.json());
    expect(stored).toEqual([{ campaign_id: 1, created_at: "2026-11-23 12:00:00.000004", _version: 80 }]);
  });

  test("a truncate removes every older row, later rows stay, and merges change nothing", async () => {
    await load("clicks", "truncate", ["clicks\t70\t706"]);
    expect(await current("clicks")).toEqual([]);
    // After a TRUNCATE ... RESTART IDENTITY, ids start over with greater versions.
    await load("clicks", "upsert", ["1\t2\t2026-11-24 00:00:01\t71\t707"]);
    // A redelivered pre-truncate batch stays gone.
    await load("clicks", "upsert", clicks);
    const after = [{ id: 1, campaign_id: 2, created_at: "2026-11-24 00:00:01.000000" }];
    expect(await current("clicks")).toEqual(after);
    expect((await current("impressions")).length).toBe(2);

    const before = await Promise.all(
      (["advertiser", "campaign", "impressions", "clicks"] as const).map(current),
    );
    for (const table of ["advertiser", "campaign", "impressions", "clicks", "truncations"])
      await ch.client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
    expect(
      await Promise.all((["advertiser", "campaign", "impressions", "clicks"] as const).map(current)),
    ).toEqual(before);
  });
});

test("a batch id as insert_deduplication_token stores a redelivered batch once", async () => {
  const stored = () =>
    ch.client
      .query({ query: "SELECT count() AS n FROM impressions WHERE id >= 100", format: "JSONEachRow" })
      .then((r) => r.json<{ n: string }>())
      .then((rows) => Number(rows[0]?.n));
  const batch = ["100\t1\t2026-11-24 10:00:00\t100\t708", "101\t1\t2026-11-24 10:00:01\t101\t708"];
  await load("impressions", "upsert", batch, "batch-1");
  await load("impressions", "upsert", batch, "batch-1");
  expect(await stored()).toBe(2);
  await load("impressions", "upsert", batch, "batch-2");
  expect(await stored()).toBe(4);
  // Stored twice under two batch ids, still read once.
  expect((await current("impressions")).filter((r) => (r as { id: number }).id >= 100)).toHaveLength(2);
});

describe("analytical tables: one INSERT replaces a campaign's report rows", () => {
  test("a rebuild with a greater _version replaces, adds and removes (campaign, day) rows at once", async () => {
    const insert = (values: Record<string, unknown>[]) =>
      ch.client.insert({ table: "advertiser_campaigns_daily_ctr_report", values, format: "JSONEachRow" });
    const row = (date: string, impressions: number, clicks: number, version: number, deleted = 0) => ({
      campaign_id: 1,
      date,
      advertiser_id: 1,
      day_number: Number(date.slice(-2)) - 23,
      impressions,
      clicks,
      ctr: impressions ? clicks / impressions : 0,
      _version: version,
      _deleted: deleted,
    });
    await insert([row("2026-11-24", 100, 5, 1), row("2026-11-25", 50, 1, 1)]);
    await insert([row("2026-11-24", 120, 6, 2), row("2026-11-25", 0, 0, 2, 1), row("2026-11-26", 10, 1, 2)]);
    const report = await ch.client
      .query({
        query:
          "SELECT toString(date) AS date, day_number, impressions, clicks, ctr FROM advertiser_campaigns_daily_ctr_report FINAL WHERE campaign_id = 1 ORDER BY date",
        format: "JSONEachRow",
      })
      .then((r) => r.json());
    expect(report).toEqual([
      { date: "2026-11-24", day_number: 1, impressions: "120", clicks: "6", ctr: 0.05 },
      { date: "2026-11-26", day_number: 3, impressions: "10", clicks: "1", ctr: 0.1 },
    ]);
  });
});
