// A repair leaves no version above PostgreSQL's behind (issue #32): a row forged in ClickHouse
// with a version far above PostgreSQL's is repaired, and the next real change of that row in
// PostgreSQL still reaches ClickHouse's _current view and the reports. Before the fix the repair
// carried the forged version + 1, which outranked every later real change of the id.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Verifier } from "@adpipe/extractor";
import { serveReportsRebuild } from "@adpipe/reporter";
import { createPool, type Pool } from "@adpipe/shared/pg";
import { testServerUrl, uniqueName, waitFor } from "@adpipe/shared/testing";
import { createPipelineWorld, createTestVerifier, type PipelineWorld, testLogger } from "@adpipe/testing";
import type { Subscription } from "nats";
import pg from "pg";

let world: PipelineWorld;
let readOnly: Pool;
let verifier: Verifier;
let rebuildSub: Subscription;
const role = uniqueName("verify_forged_ro");

async function admin(sql: string[], url = testServerUrl): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (const s of sql) await c.query(s);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  world = await createPipelineWorld();
  await world.pool.query(`
    INSERT INTO advertiser (name) VALUES ('acme');
    INSERT INTO campaign (name, bid, budget, start_date, end_date, advertiser_id)
      SELECT 'c' || i, 1.53, 1000.50, current_date - 5, current_date + 5, 1 FROM generate_series(1, 3) i;
    INSERT INTO impressions (campaign_id, created_at)
      SELECT 1 + i % 3, now()::timestamp - (i % 2) * interval '1 day' FROM generate_series(1, 600) i;`);
  await admin([`CREATE ROLE ${role} LOGIN`]);
  // As the extractor's PostgreSQL role (migration 0006): SELECT on the tables and the sequences.
  await admin(
    [
      `GRANT USAGE ON SCHEMA public TO ${role}`,
      `GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`,
      `GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role}`,
    ],
    world.db.url,
  );
  const url = new URL(world.db.url);
  url.username = role;
  readOnly = createPool({ connectionString: url.toString(), max: 2 });
  rebuildSub = serveReportsRebuild({
    nc: world.nc,
    namespace: world.namespace,
    reporter: world.reporter,
    logger: testLogger,
  });
  verifier = createTestVerifier(world, { pool: readOnly, config: { chunkIds: 200 } });
  await world.idle();
}, 120_000);

afterAll(async () => {
  rebuildSub?.unsubscribe();
  await verifier?.stop();
  await readOnly?.end();
  await world?.close();
  await admin([`DROP ROLE IF EXISTS ${role}`]).catch(() => undefined);
});

const command = (query: string) =>
  world.chs.client.command({ query, clickhouse_settings: { mutations_sync: "2" } });
async function chRows<T>(query: string): Promise<T[]> {
  // Ids are Int64: unquoted, so they read as numbers (exact below 2^53).
  const rs = await world.chs.client.query({
    query,
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return (await rs.json()) as T[];
}
async function pgOne<T>(sql: string, params: unknown[] = []): Promise<T> {
  const { rows } = await world.pool.query(sql, params);
  return rows[0] as T;
}
const maxStored = async (table: string, id: number) =>
  BigInt(
    (await chRows<{ v: string }>(`SELECT toString(max(_version)) AS v FROM ${table} WHERE id = ${id}`))[0]
      ?.v ?? "0",
  );
const lastVersion = async () =>
  BigInt((await pgOne<{ v: string }>("SELECT last_value::text AS v FROM adpipe_version_seq")).v);

test("a campaign forged at PostgreSQL's version + 5,000 is repaired, and the next real bid change reaches _current and the reports", async () => {
  const { v } = await pgOne<{ v: string }>("SELECT _version::text AS v FROM campaign WHERE id = 2");
  await command(
    `INSERT INTO campaign (id, name, bid, budget, start_date, end_date, advertiser_id, _version, _xid)
     SELECT id, name, 999.99, budget, start_date, end_date, advertiser_id, ${BigInt(v) + 5000n}, _xid
     FROM campaign FINAL WHERE id = 2`,
  );
  const e = await verifier.verify();
  if (process.env.TEST_VERBOSE) console.log(JSON.stringify(e, null, 1));
  const campaign = e.tables.find((t) => t.table === "campaign");
  expect({ drift: campaign?.driftFound, ids: campaign?.sampleIds, clean: campaign?.clean }).toEqual({
    drift: 1,
    ids: [2],
    clean: true,
  });
  // No version above PostgreSQL's is left for the id.
  expect(await maxStored("campaign", 2)).toBeLessThanOrEqual(await lastVersion());

  // The real change after the repair: 1.53 -> 1.54.
  await world.pool.query("UPDATE campaign SET bid = 1.54 WHERE id = 2");
  await waitFor(
    async () =>
      (await chRows<{ bid: string | number }>("SELECT bid FROM campaign_current WHERE id = 2")).map((r) =>
        Number(r.bid),
      )[0] === 1.54,
    { what: "the bid change in campaign_current", timeoutMs: 30_000 },
  );
  await waitFor(
    async () =>
      (
        await chRows<{ bid: string | number }>(
          "SELECT bid FROM advertiser_campaigns_totals_report FINAL WHERE campaign_id = 2",
        )
      ).map((r) => Number(r.bid))[0] === 1.54,
    { what: "the bid change in the totals report", timeoutMs: 30_000 },
  );
  const again = await verifier.verify();
  expect(again.clean).toBe(true);
  expect(again.tables.map((t) => t.driftFound)).toEqual([0, 0, 0, 0, 0]);
}, 180_000);

test("an impression forged at a higher version under another campaign is repaired, and the next real move reaches _current and the reports", async () => {
  // Ids are bigint: node-postgres reads them as text.
  const found = await pgOne<{ id: string; campaign_id: string; v: string }>(
    "SELECT id, campaign_id, _version::text AS v FROM impressions WHERE campaign_id = 1 ORDER BY id LIMIT 1",
  );
  const row = { ...found, id: Number(found.id), campaign_id: Number(found.campaign_id) };
  await command(
    `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid)
     SELECT id, 3, created_at, ${BigInt(row.v) + 5000n}, _xid FROM impressions FINAL WHERE id = ${row.id}`,
  );
  const e = await verifier.verify();
  const impressions = e.tables.find((t) => t.table === "impressions");
  expect({ drift: impressions?.driftFound, ids: impressions?.sampleIds, clean: impressions?.clean }).toEqual({
    drift: 1,
    ids: [row.id],
    clean: true,
  });
  expect(e.clean).toBe(true);
  const last = await lastVersion();
  expect(await maxStored("impressions", row.id)).toBeLessThanOrEqual(last);
  expect(await maxStored("impressions_keyed", row.id)).toBeLessThanOrEqual(last);

  // The real change after the repair: the impression moves to campaign 2.
  await world.pool.query("UPDATE impressions SET campaign_id = 2 WHERE id = $1", [row.id]);
  await waitFor(
    async () =>
      (
        await chRows<{ c: number }>(`SELECT campaign_id AS c FROM impressions_current WHERE id = ${row.id}`)
      )[0]?.c === 2,
    { what: "the move in impressions_current", timeoutMs: 30_000 },
  );
  // The reports count it where PostgreSQL does, per campaign.
  const pgCounts = async () =>
    Object.fromEntries(
      (
        await world.pool.query<{ c: string; n: string }>(
          "SELECT campaign_id AS c, count(*)::text AS n FROM impressions GROUP BY 1",
        )
      ).rows.map((r) => [Number(r.c), Number(r.n)]),
    );
  const reportCounts = async () =>
    Object.fromEntries(
      (
        await chRows<{ c: number; n: string | number }>(
          "SELECT campaign_id AS c, impressions AS n FROM advertiser_campaigns_totals_report FINAL",
        )
      ).map((r) => [r.c, Number(r.n)]),
    );
  const expected = await pgCounts();
  await waitFor(async () => JSON.stringify(await reportCounts()) === JSON.stringify(expected), {
    what: `the totals report's impressions per campaign to be ${JSON.stringify(expected)}`,
    timeoutMs: 30_000,
  });
  const again = await verifier.verify();
  expect(again.clean).toBe(true);
  expect(again.tables.map((t) => t.driftFound)).toEqual([0, 0, 0, 0, 0]);
  expect(again.reports?.driftFound).toBe(0);
}, 180_000);
