// The verifier against the real pipeline (PostgreSQL → extractor → NATS → loader → ClickHouse →
// reporter): drift injected straight into ClickHouse is found, repaired through the delta path,
// and the next run is clean; the verifier runs as a PostgreSQL role that may only SELECT.
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  createExtractorApp as createApp,
  createVerifyMetrics,
  serveVerifyRun,
  type Verifier,
} from "@adpipe/extractor";
import { addVerifyBadgeRoute, serveReportsRebuild } from "@adpipe/reporter";
import { subjects } from "@adpipe/shared/contract";
import { createServiceApp } from "@adpipe/shared/http";
import { createRegistry } from "@adpipe/shared/metrics";
import { createPool, type Pool } from "@adpipe/shared/pg";
import { testServerUrl, uniqueName, waitFor } from "@adpipe/shared/testing";
import type { VerifyCompletedEvent, VerifyStatus } from "@adpipe/shared/verify";
import { createPipelineWorld, createTestVerifier, type PipelineWorld, testLogger } from "@adpipe/testing";
import type { Subscription } from "nats";
import pg from "pg";

let world: PipelineWorld;
let readOnly: Pool;
let verifier: Verifier;
let rebuildSub: Subscription;
let completedSub: Subscription;
const completed: VerifyCompletedEvent[] = [];
const registry = createRegistry("extractor");
const role = uniqueName("verify_ro");

async function admin<T>(fn: (c: pg.Client) => Promise<T>, url = testServerUrl): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Inserted, updated and deleted rows per table, as PostgreSQL counts them. */
async function writes(): Promise<Record<string, number>> {
  await world.pool.query("SELECT pg_stat_clear_snapshot()");
  const { rows } = await world.pool.query<{ relname: string; n: string }>(
    "SELECT relname, (n_tup_ins + n_tup_upd + n_tup_del)::text AS n FROM pg_stat_user_tables WHERE relname IN ('advertiser', 'campaign', 'impressions', 'clicks', 'adpipe_deletion')",
  );
  return Object.fromEntries(rows.map((r) => [r.relname, Number(r.n)]));
}

beforeAll(async () => {
  world = await createPipelineWorld();
  await world.pool.query(`
    INSERT INTO advertiser (name) VALUES ('acme');
    INSERT INTO campaign (name, bid, budget, start_date, end_date, advertiser_id)
      SELECT 'c' || i, 1.25 * i, 1000.50, current_date - 5, current_date + 5, 1 FROM generate_series(1, 4) i;
    INSERT INTO impressions (campaign_id, created_at)
      SELECT 1 + i % 4, now()::timestamp - (i % 3) * interval '1 day' - (i * interval '1 second')
      FROM generate_series(1, 3000) i;
    INSERT INTO clicks (campaign_id, created_at)
      SELECT 1 + i % 4, now()::timestamp - (i % 3) * interval '1 day' FROM generate_series(1, 150) i;
    DELETE FROM impressions WHERE id IN (100, 101);
    -- Values whose text differs between the two databases unless canonicalised.
    INSERT INTO advertiser (name, updated_at) VALUES (E'tab\there, ünïcödé "q" \\N', timestamp '1999-12-31 23:59:59.000001');
    INSERT INTO campaign (name, bid, budget) VALUES ('no dates', 0.5, 10);
    INSERT INTO impressions (campaign_id, created_at) VALUES (1, NULL), (NULL, now());`);
  await admin(async (c) => {
    await c.query(`CREATE ROLE ${role} LOGIN`);
  });
  await admin(async (c) => {
    await c.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
    // As the extractor's role (migration 0006): the verifier reads adpipe_version_seq's last value.
    await c.query(`GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
  }, world.db.url);
  const url = new URL(world.db.url);
  url.username = role;
  readOnly = createPool({ connectionString: url.toString(), max: 2 });
  rebuildSub = serveReportsRebuild({
    nc: world.nc,
    namespace: world.namespace,
    reporter: world.reporter,
    logger: testLogger,
  });
  completedSub = world.nc.subscribe(subjects(world.namespace).verifyCompleted, {
    callback: (_err, msg) => completed.push(msg.json<VerifyCompletedEvent>()),
  });
  verifier = createTestVerifier(world, {
    pool: readOnly,
    config: { concurrency: 2 },
    metrics: createVerifyMetrics(registry),
  });
  await world.idle();
}, 120_000);

afterAll(async () => {
  rebuildSub?.unsubscribe();
  completedSub?.unsubscribe();
  await verifier?.stop();
  await readOnly?.end();
  await world?.close();
  await admin((c) => c.query(`DROP ROLE IF EXISTS ${role}`)).catch(() => undefined);
});

const ch = () => world.chs.client;
const command = (query: string) => ch().command({ query, clickhouse_settings: { mutations_sync: "2" } });
async function pgVersion(table: string, id: number): Promise<bigint> {
  const { rows } = await world.pool.query<{ v: string }>(
    `SELECT _version::text AS v FROM ${table} WHERE id = $1`,
    [id],
  );
  return BigInt(rows[0]?.v ?? "0");
}
const outcome = (run: VerifyCompletedEvent) => ({
  tables: run.tables.map(({ table, driftFound, sampleIds, rowsRepaired, clean, error }) => ({
    table,
    driftFound,
    sampleIds,
    rowsRepaired,
    clean,
    error: error ?? null,
  })),
  reports: { clean: run.reports?.clean, error: run.reports?.error ?? null },
  clean: run.clean,
});
const byTable = (e: VerifyCompletedEvent) => Object.fromEntries(e.tables.map((t) => [t.table, t]));

test("a clean pipeline verifies clean", async () => {
  const e = await verifier.verify();
  expect(e.tables.map((t) => t.error ?? "")).toEqual(["", "", "", "", ""]);
  expect(e.tables.map((t) => t.driftFound)).toEqual([0, 0, 0, 0, 0]);
  expect(byTable(e).impressions?.rowsChecked).toBe(3000);
  expect(e.reports?.driftFound).toBe(0);
  expect(e.clean).toBe(true);
}, 120_000);

test("drift injected into ClickHouse is found, repaired through the delta path, and the next run is clean", async () => {
  // Statistics reach pg_stat_user_tables a moment after the writes, and not all at once: a
  // backend's flush skips a table whose entry a reader holds at that instant and sends it later.
  // Wait for every table's count of the seed.
  const seeded = { advertiser: 2, campaign: 5, impressions: 3004, clicks: 150, adpipe_deletion: 2 };
  const before = await waitFor(
    async () => {
      const w = await writes();
      return Object.entries(seeded).every(([table, n]) => w[table] === n) && w;
    },
    { what: "the seed's statistics", timeoutMs: 30_000 },
  );
  // Rows deleted from an entity table (a mutation) and one hidden by a forged tombstone.
  await command("ALTER TABLE impressions DELETE WHERE id IN (5, 6, 7)");
  await command(
    `INSERT INTO impressions (id, _version, _xid, _deleted) VALUES (10, ${(await pgVersion("impressions", 10)) + 1n}, 0, 1)`,
  );
  // A row PostgreSQL never had, and a deleted row brought back.
  await command(
    "INSERT INTO impressions (id, campaign_id, created_at, _version, _xid) VALUES (999999, 2, now64(6), 5, 1)",
  );
  await command(
    "INSERT INTO impressions (id, campaign_id, created_at, _version, _xid) VALUES (100, 2, now64(6), 1000000000000, 1)",
  );
  // A value changed (higher version, different name and bid).
  await command(
    `INSERT INTO campaign (id, name, bid, budget, advertiser_id, _version, _xid) VALUES (1, 'forged', 9.99, 1, 1, ${(await pgVersion("campaign", 1)) + 1000n}, 0)`,
  );
  // A duplicate row with a higher version, moved to another campaign.
  await command(
    `INSERT INTO clicks (id, campaign_id, created_at, _version, _xid) SELECT id, assumeNotNull(campaign_id) % 4 + 1, created_at, _version + 1, _xid FROM clicks WHERE id = 3`,
  );
  // The bid history is replicated and verified like the rest: a bid ClickHouse holds wrongly.
  await command(
    "INSERT INTO campaign_bids (id, campaign_id, bid, valid_from, _version, _xid) SELECT id, campaign_id, bid + 1, valid_from, _version + 1, _xid FROM campaign_bids WHERE id = 1",
  );
  const e = await verifier.verify();
  if (process.env.TEST_VERBOSE) console.log(JSON.stringify(e, null, 1));
  // The whole outcome in one comparison: a failure shows every table's figures and errors.
  expect(outcome(e)).toEqual({
    tables: [
      { table: "advertiser", driftFound: 0, sampleIds: [], rowsRepaired: 0, clean: true, error: null },
      // rowsRepaired counts the forged rows removed and the rows re-published.
      { table: "campaign", driftFound: 1, sampleIds: [1], rowsRepaired: 2, clean: true, error: null },
      {
        table: "impressions",
        driftFound: 6,
        sampleIds: [5, 6, 7, 10, 100, 999999],
        // 5, 6, 7 re-published; 10's forged tombstone and 100's forged row removed, 10 re-published;
        // 999999 (version 5, below PostgreSQL's sequence) tombstoned.
        rowsRepaired: 7,
        clean: true,
        error: null,
      },
      // The click shown under another campaign at a higher version: that row removed, then
      // PostgreSQL's row re-published.
      { table: "clicks", driftFound: 1, sampleIds: [3], rowsRepaired: 2, clean: true, error: null },
      { table: "campaign_bids", driftFound: 1, sampleIds: [1], rowsRepaired: 2, clean: true, error: null },
    ],
    reports: { clean: true, error: null },
    clean: true,
  });

  const again = await verifier.verify();
  expect(again.tables.map((x) => [x.table, x.driftFound, x.rowsRepaired])).toEqual([
    ["advertiser", 0, 0],
    ["campaign", 0, 0],
    ["impressions", 0, 0],
    ["clicks", 0, 0],
    ["campaign_bids", 0, 0],
  ]);
  expect(again.reports?.driftFound).toBe(0);
  expect(again.clean).toBe(true);

  // What readers see now is PostgreSQL's.
  const rs = await ch().query({
    query: "SELECT name FROM campaign_current WHERE id = 1",
    format: "JSONEachRow",
  });
  expect(await rs.json()).toEqual([{ name: "c1" }]);
  const gone = await ch().query({
    query: "SELECT count() AS n FROM impressions_current WHERE id IN (100, 999999)",
    format: "JSONEachRow",
  });
  expect(Number(((await gone.json()) as { n: string }[])[0]?.n)).toBe(0);
  // 999999's repair tombstone (the greatest stored version + 1) names the campaign and time of the
  // row it removed, as the extractor's tombstones do; 100's forged version is gone, and no version
  // above PostgreSQL's sequence is left anywhere.
  const repaired = await ch().query({
    query: `SELECT id, campaign_id, created_at IS NOT NULL AS timed FROM impressions
            WHERE (id, _version) IN ((100, 1000000000000), (999999, 6)) AND _deleted IN (0, 1) ORDER BY id`,
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 }, // ids are Int64
  });
  expect(await repaired.json()).toEqual([{ id: 999999, campaign_id: 2, timed: 1 }]);
  const [seq] = (await world.pool.query("SELECT last_value::text AS v FROM adpipe_version_seq")).rows as {
    v: string;
  }[];
  for (const table of [
    "campaign",
    "impressions",
    "clicks",
    "campaign_bids",
    "impressions_keyed",
    "clicks_keyed",
  ]) {
    const top = await ch().query({
      query: `SELECT toString(max(_version)) AS v FROM ${table}`,
      format: "JSONEachRow",
    });
    expect(BigInt(((await top.json()) as { v: string }[])[0]?.v ?? "0") <= BigInt(seq?.v ?? "0")).toBe(true);
  }
  // The click ClickHouse showed under another campaign: its forged version is gone from
  // clicks_keyed (sorted by campaign) too; PostgreSQL's campaign holds the current row.
  const pgClick = {
    campaign_id: Number(
      (await world.pool.query("SELECT campaign_id FROM clicks WHERE id = 3")).rows[0]?.campaign_id,
    ),
  };
  const keyed = await ch().query({
    query: `SELECT campaign_id, argMax(_deleted, _version) AS deleted FROM clicks_keyed WHERE id = 3
            GROUP BY campaign_id ORDER BY deleted`,
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  expect(await keyed.json()).toEqual([{ campaign_id: pgClick?.campaign_id, deleted: 0 }]);

  // The verifier never wrote PostgreSQL (its role could not have; the counters agree).
  expect(await writes()).toEqual(before);

  // Status, event and metrics say the same.
  const app = createApp({
    extractor: world.extractor,
    logger: testLogger,
    checks: {},
    registry,
    verify: verifier,
  });
  const status = (await (await app.request("/verify")).json()) as VerifyStatus;
  expect(status.enabled).toBe(true);
  expect(status.exactAsOf).toBe(again.finishedAt);
  expect(status.tables.find((x) => x.table === "impressions")?.verifiedAt).toBe(
    byTable(again).impressions?.verifiedAt ?? "",
  );
  const metrics = await (await app.request("/metrics")).text();
  expect(metrics).toMatch(/adpipe_verify_drift_rows_total\{table="impressions",service="extractor"\} 6/);
  expect(metrics).toMatch(/adpipe_verify_repaired_rows_total\{table="impressions",service="extractor"\} 7/);
  // Both runs' completion events arrive (published as each run ends, delivered a moment later).
  await waitFor(() => [e, again].every((run) => completed.some((x) => x.finishedAt === run.finishedAt)), {
    what: "both runs' verify.completed events",
    timeoutMs: 10_000,
  });
}, 240_000);

test("report rows altered in ClickHouse are rebuilt by the reporter on the verifier's request", async () => {
  // The repairs above made the reporter rebuild; let it finish. The forged rows' versions are far
  // above any the reporter hands out, so only a rebuild that first re-reads the maximum replaces them.
  await world.idle();
  // Report rows altered: a day's impressions and a campaign's totals.
  await command(
    "INSERT INTO advertiser_campaigns_daily_ctr_report (campaign_id, date, impressions, clicks, ctr, _version) SELECT campaign_id, date, impressions + 7, clicks, ctr, _version + 1000000000000 FROM advertiser_campaigns_daily_ctr_report FINAL WHERE campaign_id = 3 LIMIT 1",
  );
  await command(
    "INSERT INTO advertiser_campaigns_totals_report SELECT * REPLACE (clicks + 3 AS clicks, _version + 1000000000000 AS _version) FROM advertiser_campaigns_totals_report FINAL WHERE campaign_id = 2",
  );

  const e = await verifier.verify();
  expect(e.tables.map((t) => t.driftFound)).toEqual([0, 0, 0, 0, 0]);
  // Campaign 3's day (daily report), campaign 2's totals.
  expect(e.reports?.driftFound).toBe(2);
  expect(e.reports?.campaignsRebuilt).toBe(2);
  expect(e.reports?.clean).toBe(true);
  const again = await verifier.verify();
  expect(again.reports?.driftFound).toBe(0);
  expect(again.clean).toBe(true);
}, 180_000);

test("on demand over NATS (<ns>.verify.run), and the dashboard's badge reads the status through the reporter", async () => {
  const sub = serveVerifyRun({
    nc: world.nc,
    namespace: world.namespace,
    handle: verifier,
    logger: testLogger,
  });
  const extractorApp = createApp({
    extractor: world.extractor,
    logger: testLogger,
    checks: {},
    verify: verifier,
  });
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: extractorApp.fetch });
  try {
    const reply = await world.nc.request(subjects(world.namespace).verifyRun, "", { timeout: 120_000 });
    const e = reply.json<VerifyCompletedEvent>();
    expect(e.clean).toBe(true);
    expect(e.tables.map((t) => t.driftFound)).toEqual([0, 0, 0, 0, 0]);

    const reporterApp = createServiceApp({ service: "reporter", logger: testLogger });
    addVerifyBadgeRoute(reporterApp, `http://127.0.0.1:${server.port}`, 5000);
    const status = (await (await reporterApp.request("/dashboard/api/verify")).json()) as VerifyStatus;
    expect(status.exactAsOf).toBe(e.finishedAt);
    expect(status.phase).toBe("idle");

    // An extractor that does not answer is a state of the badge, not an error of the page.
    const down = createServiceApp({ service: "reporter", logger: testLogger });
    addVerifyBadgeRoute(down, "http://127.0.0.1:9", 1000);
    const off = await down.request("/dashboard/api/verify");
    expect(off.status).toBe(200);
    expect(((await off.json()) as VerifyStatus).enabled).toBe(false);
  } finally {
    sub.unsubscribe();
    await server.stop(true);
  }
}, 180_000);
