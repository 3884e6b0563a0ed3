import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestClickHouse, type TestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
import { createRebuilder } from "./rebuild.ts";
import { loadQueries } from "./sql.ts";
import { emptyTouched, planEvents } from "./touched.ts";

// A rebuild that dies between its bucket recount and the daily tables, then runs again for the
// same window (the redelivered event): the key the recount emptied is still found and
// tombstoned, and every count equals the facts.

let ch: TestClickHouse;
beforeAll(async () => {
  ch = await startTestClickHouse();
  await migrateOlap(ch.client, ch.database);
});
afterAll(() => ch.stop());

async function daily(): Promise<{ campaign_id: number; date: string; n: number }[]> {
  const rs = await ch.client.query({
    query: `SELECT campaign_id, toString(date) AS date, impressions AS n FROM advertiser_campaigns_impressions FINAL
            WHERE _deleted = 0 ORDER BY campaign_id, date`,
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return (await rs.json()) as { campaign_id: number; date: string; n: number }[];
}

/** Campaigns first..first + count - 1, as a loader would have written them. */
const addCampaigns = (first: number, count: number) =>
  ch.client.command({
    query: `INSERT INTO campaign (id, name, bid, budget, _version, _xid)
      SELECT number + ${first}, 'c', 1, 10, 1, 1 FROM numbers(${count})`,
  });

/** The rows of these campaigns only (each test uses campaigns of its own). */
const only =
  (...campaigns: number[]) =>
  <T extends { campaign_id: number }>(rows: T[]) =>
    rows.filter((r) => campaigns.includes(r.campaign_id));

const window = (xid: number) =>
  planEvents([
    {
      table: "impressions",
      batchIds: [`b${xid}`],
      kinds: ["delete", "upsert"],
      rows: 2,
      watermark: String(xid + 1),
      windows: [{ from: String(xid), to: String(xid + 1) }],
      loadedAt: new Date().toISOString(),
    },
  ]);

test("a rebuild that fails after its recount and is retried still tombstones the (campaign, day) a move emptied", async () => {
  const queries = loadQueries();
  const rebuilder = createRebuilder(ch.client, queries);
  await addCampaigns(1, 2);
  // Campaign 1 has one impression on 2026-11-20 (id 5) and one on 2026-11-21 (id 6).
  await ch.client.command({
    query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid) VALUES
      (5, 1, '2026-11-20 10:00:00', 10, 100), (6, 1, '2026-11-21 10:00:00', 11, 100)`,
  });
  await rebuilder.write(await rebuilder.findTouched(window(100)), 1000n, "2026-11-21");
  expect(await daily()).toEqual([
    { campaign_id: 1, date: "2026-11-20", n: 1 },
    { campaign_id: 1, date: "2026-11-21", n: 1 },
  ]);

  // Id 5 moves to campaign 2 on 2026-11-22: a tombstone (no campaign), then its new version.
  await ch.client.command({
    query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid, _deleted) VALUES
      (5, NULL, NULL, 20, 200, 1), (5, 2, '2026-11-22 10:00:00', 21, 200, 0)`,
  });
  // The daily statements fail: the recount has run, nothing after it.
  const killed = "SELECT throwIf(1, 'killed here')";
  const failing = createRebuilder(ch.client, {
    ...queries,
    "rebuild-impressions": killed,
    "rebuild-impressions-listed": killed,
  });
  await expect(failing.write(await failing.findTouched(window(200)), 2000n, "2026-11-22")).rejects.toThrow(
    "killed here",
  );
  // A merge collapses what it can before the retry (a tombstone stays).
  await ch.client.command({ query: "OPTIMIZE TABLE impressions_buckets FINAL" });
  await ch.client.command({ query: "OPTIMIZE TABLE impressions FINAL" });

  const touched = await rebuilder.findTouched(window(200));
  expect(touched.full).toBe(false);
  await rebuilder.write(touched, 3000n, "2026-11-22");
  expect(await daily()).toEqual([
    { campaign_id: 1, date: "2026-11-21", n: 1 },
    { campaign_id: 2, date: "2026-11-22", n: 1 },
  ]);
  // And a full rebuild agrees.
  await rebuilder.write({ ...emptyTouched(), full: true }, 4000n, "2026-11-22");
  expect(await daily()).toEqual([
    { campaign_id: 1, date: "2026-11-21", n: 1 },
    { campaign_id: 2, date: "2026-11-22", n: 1 },
  ]);
});

test("the (campaign, day) a new fact brings into a bucket is rebuilt from the window's own rows", async () => {
  const queries = loadQueries();
  const rebuilder = createRebuilder(ch.client, queries);
  await addCampaigns(3, 2);
  // The campaigns' own event: their dimension rows (the reports take name, bid and budget from them).
  await rebuilder.write(
    { ...emptyTouched(), campaigns: new Set([3, 4]), allDayCampaigns: new Set([3, 4]) },
    4500n,
    "2026-11-23",
  );
  // Bucket 1 (ids 65,536 to 131,071) holds campaign 3's impression of 2026-11-20 only.
  await ch.client.command({
    query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid) VALUES (70000, 3, '2026-11-20 10:00:00', 30, 300)`,
  });
  await rebuilder.write(await rebuilder.findTouched(window(300)), 5000n, "2026-11-23");
  // Campaign 4's first impression, 2026-11-23, lands in the same bucket; a row without created_at
  // counts in its totals only.
  await ch.client.command({
    query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid) VALUES
      (70001, 4, '2026-11-23 09:00:00', 40, 400), (70002, 4, NULL, 41, 400)`,
  });
  const touched = await rebuilder.findTouched(window(400));
  expect([...touched.buckets.impressions]).toEqual([1]);
  expect(touched.windowKeys.impressions).toEqual(
    expect.arrayContaining([
      { campaign_id: 4, date: "2026-11-23" },
      { campaign_id: 4, date: null },
    ]),
  );
  expect(touched.windowKeys.impressions).toHaveLength(2);
  // The buckets' stored keys are read while the recount runs, so they may not include the key the
  // recount adds: here they include none, and the window's keys alone must bring it.
  const noStoredKeys = createRebuilder(ch.client, {
    ...queries,
    "impressions-bucket-days": "SELECT 0 AS campaign_id, NULL AS date WHERE 0",
  });
  await noStoredKeys.write(touched, 6000n, "2026-11-23");
  expect((await daily()).filter((r) => r.campaign_id >= 3)).toEqual([
    { campaign_id: 3, date: "2026-11-20", n: 1 },
    { campaign_id: 4, date: "2026-11-23", n: 1 },
  ]);
  const rs = await ch.client.query({
    query:
      "SELECT impressions FROM advertiser_campaigns_totals_report FINAL WHERE campaign_id = 4 AND _deleted = 0",
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  expect(await rs.json()).toEqual([{ impressions: 2 }]);
});

/** Every (campaign, day) count of the facts, straight from impressions_current. */
async function direct(): Promise<{ campaign_id: number; date: string; n: number }[]> {
  const rs = await ch.client.query({
    query: `SELECT assumeNotNull(campaign_id) AS campaign_id, toString(toDate32(assumeNotNull(created_at))) AS date, count() AS n
            FROM impressions_current WHERE campaign_id IS NOT NULL AND created_at IS NOT NULL
            GROUP BY campaign_id, date ORDER BY campaign_id, date`,
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return (await rs.json()) as { campaign_id: number; date: string; n: number }[];
}

test("a delete whose tombstone names its campaign recounts one (bucket, campaign) pair, also after merges and a retry; a move its bucket", async () => {
  const queries = loadQueries();
  const rebuilder = createRebuilder(ch.client, queries);
  await addCampaigns(5, 2);
  // Bucket 3: campaign 5 has two impressions on 2026-11-20, campaign 6 one on 2026-11-21.
  // Bucket 4: campaign 5 has one on 2026-11-20.
  await ch.client.command({
    query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid) VALUES
      (200000, 5, '2026-11-20 10:00:00', 50, 500), (200001, 5, '2026-11-20 11:00:00', 51, 500),
      (200002, 6, '2026-11-21 10:00:00', 52, 500), (270000, 5, '2026-11-20 12:00:00', 53, 500)`,
  });
  await rebuilder.write(await rebuilder.findTouched(window(500)), 7000n, "2026-11-21");
  // Id 200001 is deleted, its tombstone naming campaign 5 and its time. Id 270000 moves to
  // campaign 6 on 2026-11-22: a tombstone naming campaign 5, then the new version, in one INSERT
  // (the fact table keeps only the new version of the id).
  await ch.client.command({
    query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid, _deleted) VALUES
      (200001, 5, '2026-11-20 11:00:00', 60, 600, 1),
      (270000, 5, '2026-11-20 12:00:00', 61, 600, 1), (270000, 6, '2026-11-22 10:00:00', 62, 600, 0)`,
  });
  const touched = await rebuilder.findTouched(window(600));
  expect([...touched.buckets.impressions]).toEqual([4]);
  expect(touched.pairs.impressions).toEqual(new Map([[3, new Set([5])]]));
  // The daily statement fails after the recount; merges run; the retry still finds every key.
  const killed = "SELECT throwIf(1, 'killed here')";
  const failing = createRebuilder(ch.client, { ...queries, "rebuild-impressions-listed": killed });
  await expect(failing.write(touched, 8000n, "2026-11-22")).rejects.toThrow("killed here");
  for (const t of ["impressions", "impressions_keyed", "impressions_buckets"])
    await ch.client.command({ query: `OPTIMIZE TABLE ${t} FINAL` });
  await rebuilder.write(await rebuilder.findTouched(window(600)), 9000n, "2026-11-22");
  const mine = only(5, 6);
  expect(mine(await daily())).toEqual([
    { campaign_id: 5, date: "2026-11-20", n: 1 },
    { campaign_id: 6, date: "2026-11-21", n: 1 },
    { campaign_id: 6, date: "2026-11-22", n: 1 },
  ]);
  expect(mine(await daily())).toEqual(mine(await direct()));
});

test("a tombstone without a campaign (recorded before PostgreSQL's migration 0008) still hides its fact from later pair recounts", async () => {
  const queries = loadQueries();
  const rebuilder = createRebuilder(ch.client, queries);
  await addCampaigns(7, 1);
  // Bucket 5: campaign 7 has three impressions on 2026-11-20.
  await ch.client.command({
    query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid) VALUES
      (330000, 7, '2026-11-20 10:00:00', 70, 700), (330001, 7, '2026-11-20 11:00:00', 71, 700),
      (330002, 7, '2026-11-20 12:00:00', 72, 700)`,
  });
  await rebuilder.write(await rebuilder.findTouched(window(700)), 10_000n, "2026-11-21");
  // Id 330000 is deleted by a bare tombstone: its bucket is recounted whole.
  await ch.client.command({
    query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid, _deleted) VALUES (330000, NULL, NULL, 80, 800, 1)`,
  });
  const bare = await rebuilder.findTouched(window(800));
  expect([...bare.buckets.impressions]).toEqual([5]);
  await rebuilder.write(bare, 11_000n, "2026-11-21");
  // Then id 330001 is deleted, its tombstone naming campaign 7: a pair recount, which reads the
  // version kept under campaign 7 for 330000 too, and must find the bare tombstone above it.
  await ch.client.command({
    query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid, _deleted) VALUES
      (330001, 7, '2026-11-20 11:00:00', 90, 900, 1)`,
  });
  const pairs = await rebuilder.findTouched(window(900));
  expect([...pairs.buckets.impressions]).toEqual([]);
  expect(pairs.pairs.impressions).toEqual(new Map([[5, new Set([7])]]));
  await rebuilder.write(pairs, 12_000n, "2026-11-21");
  const mine = only(7);
  expect(mine(await daily())).toEqual([{ campaign_id: 7, date: "2026-11-20", n: 1 }]);
  expect(mine(await daily())).toEqual(mine(await direct()));

  // An older version of 330001 arrives late (a redelivered batch; its own window recounts the
  // bucket whole), then 330002 is deleted: the pair recount reads the late version under campaign
  // 7 and the tombstone above it, and counts nothing left.
  await ch.client.command({
    query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid) VALUES (330001, 7, '2026-11-20 11:00:00', 71, 901)`,
  });
  await rebuilder.write(await rebuilder.findTouched(window(901)), 13_000n, "2026-11-21");
  expect(mine(await daily())).toEqual([{ campaign_id: 7, date: "2026-11-20", n: 1 }]);
  await ch.client.command({
    query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid, _deleted) VALUES
      (330002, 7, '2026-11-20 12:00:00', 92, 902, 1)`,
  });
  const last = await rebuilder.findTouched(window(902));
  expect(last.pairs.impressions).toEqual(new Map([[5, new Set([7])]]));
  await rebuilder.write(last, 14_000n, "2026-11-21");
  expect(mine(await daily())).toEqual([]);
  expect(mine(await direct())).toEqual([]);
});
