// 64-bit ids end to end (issue #30): with PostgreSQL's sequences set past 2^31 and 2^32, traffic
// written through the generator's operations and plain SQL (inserts without ids, updates, moves,
// deletes) reaches ClickHouse's `<table>_current` row for row, every KPI equals PostgreSQL's, and a
// verifier run over the id ranges (small ids and ids 2^40 apart) is clean; an id past 2^53 - 1, the
// largest a JS number holds exactly, is the verifier's named error, not a wrong comparison.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createVerifyMetrics, type Verifier } from "@adpipe/extractor";
import { createOperations } from "@adpipe/generator";
import { serveReportsRebuild } from "@adpipe/reporter";
import { createRegistry } from "@adpipe/shared/metrics";
import { createPipelineWorld, createTestVerifier, type PipelineWorld, testLogger } from "@adpipe/testing";
import { compareEverything, waitForTruth } from "@adpipe/testing/truth";
import type { Subscription } from "nats";

const SEQUENCES = {
  advertiser: 3_000_000_000,
  campaign: 2 ** 32 + 7,
  impressions: 5_000_000_000,
  clicks: 2 ** 40,
  campaign_bids: 6_000_000_000,
};

let w: PipelineWorld;
let verifier: Verifier;
let rebuildSub: Subscription;

beforeAll(async () => {
  w = await createPipelineWorld();
  rebuildSub = serveReportsRebuild({
    nc: w.nc,
    namespace: w.namespace,
    reporter: w.reporter,
    logger: testLogger,
  });
  verifier = createTestVerifier(w, { metrics: createVerifyMetrics(createRegistry("extractor")) });
}, 120_000);

afterAll(async () => {
  rebuildSub?.unsubscribe();
  await verifier?.stop();
  await w?.close();
});

const truth = () => ({ pool: w.pool, get: w.get, clickhouse: w.chs.client, now: w.now });
const chIds = async (table: string) =>
  (
    await (
      await w.chs.client.query({
        query: `SELECT toString(id) AS t FROM ${table}_current ORDER BY id`,
        format: "JSONEachRow",
      })
    ).json<{ t: string }>()
  ).map((r) => r.t);
const pgIds = async (table: string) =>
  (await w.pool.query<{ t: string }>(`SELECT id::text AS t FROM ${table} ORDER BY id`)).rows.map((r) => r.t);

test("ids past 2^31 and 2^32 travel exactly: entities, every KPI and a clean verifier run", async () => {
  const ops = createOperations(w.pool);
  // A few rows with small ids first, so the tables span small and huge ids.
  const [small] = await ops.advertisers(1);
  const [smallCampaign] = await ops.campaigns(small as number, 1);
  await ops.impressions(smallCampaign as number, 20);
  await ops.clicks(smallCampaign as number, 0.2);

  for (const [table, at] of Object.entries(SEQUENCES))
    await w.pool.query(`SELECT setval('${table}_id_seq', $1)`, [at]);

  // Through the generator's own operations (inserts that never name id).
  const advertisers = await ops.advertisers(2);
  expect(advertisers[0]).toBe(SEQUENCES.advertiser + 1);
  const campaigns = [
    ...(await ops.campaigns(advertisers[0] as number, 2)),
    ...(await ops.campaigns(advertisers[1] as number, 2)),
  ];
  expect(campaigns[0]).toBe(SEQUENCES.campaign + 1);
  for (const c of campaigns) {
    await ops.impressions(c, 150);
    await ops.clicks(c, 0.1);
  }
  const [a, b, c, d] = campaigns as [number, number, number, number];
  // Updates, a move between campaigns (a tombstone naming the campaign it leaves), deletes, a new
  // bid (bid history past its own 2^32), an advertiser renamed, and a campaign moved to the small one.
  await w.pool.query("UPDATE campaign SET bid = bid + 0.5 WHERE id = ANY($1::bigint[])", [[a, c]]);
  await w.pool.query(
    "UPDATE impressions SET campaign_id = $1 WHERE id IN (SELECT id FROM impressions WHERE campaign_id = $2 ORDER BY id LIMIT 25)",
    [b, a],
  );
  await w.pool.query(
    "DELETE FROM impressions WHERE id IN (SELECT id FROM impressions WHERE campaign_id = $1 ORDER BY id DESC LIMIT 10)",
    [d],
  );
  await w.pool.query(
    "DELETE FROM clicks WHERE id IN (SELECT id FROM clicks WHERE campaign_id = $1 ORDER BY id LIMIT 3)",
    [c],
  );
  await w.pool.query("UPDATE advertiser SET name = 'renamed', updated_at = now() WHERE id = $1", [
    advertisers[1],
  ]);
  await w.pool.query("UPDATE campaign SET advertiser_id = $1 WHERE id = $2", [small, d]);
  // An id given explicitly at the end of the range a JS number holds exactly (MAX_ID = 2^53 - 1).
  await w.pool.query("INSERT INTO impressions (id, campaign_id, created_at) VALUES ($1, $2, now())", [
    String(2 ** 53 - 1),
    c,
  ]);

  await w.idle();
  await waitForTruth(truth(), 60_000, compareEverything);

  for (const table of ["advertiser", "campaign", "impressions", "clicks", "campaign_bids"]) {
    const ids = await pgIds(table);
    expect(await chIds(table)).toEqual(ids);
    expect(BigInt(ids.at(-1) as string)).toBeGreaterThan(2n ** 31n);
  }
  expect((await chIds("impressions")).at(-1)).toBe(String(2 ** 53 - 1));
  expect((await chIds("clicks")).at(-1)).toBe(String(2 ** 40 + 4 * 15));

  const run = await verifier.verify();
  expect(run.tables.map((t) => t.error ?? "")).toEqual(["", "", "", "", ""]);
  expect(run.tables.map((t) => t.driftFound)).toEqual([0, 0, 0, 0, 0]);
  const impressions = run.tables.find((t) => t.table === "impressions");
  expect(impressions?.rowsChecked).toBe(
    Number((await w.pool.query("SELECT count(*) AS n FROM impressions")).rows[0].n),
  );
  expect(run.reports?.driftFound).toBe(0);
  expect(run.clean).toBe(true);

  // Past 2^53 - 1 the verifier would compare rounded ids: it names the table's error instead.
  await w.pool.query("INSERT INTO impressions (id, campaign_id, created_at) VALUES ($1, $2, now())", [
    (2n ** 53n + 1n).toString(),
    c,
  ]);
  await w.idle();
  const past = await verifier.verify();
  expect(past.tables.find((t) => t.table === "impressions")?.error).toContain("cannot be verified exactly");
  expect(past.clean).toBe(false);
}, 240_000);
