// Incremental verification against the real pipeline (PostgreSQL → extractor → NATS → loader →
// ClickHouse): a run after a change compares only the ids changed since the last verified run and
// repairs drift among them; drift in rows PostgreSQL did not change is left to a full pass, which
// finds it; `POST /verify` takes the mode; the schedule interleaves full passes.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createExtractorApp as createApp, type Verifier } from "@adpipe/extractor";
import { serveReportsRebuild } from "@adpipe/reporter";
import { authorised, testSecurity } from "@adpipe/shared/api-testing";
import { subjects } from "@adpipe/shared/contract";
import { testServerUrl, waitFor } from "@adpipe/shared/testing";
import type { VerifyCompletedEvent } from "@adpipe/shared/verify";
import { createPipelineWorld, createTestVerifier, type PipelineWorld, testLogger } from "@adpipe/testing";
import type { Subscription } from "nats";
import pg from "pg";

let world: PipelineWorld;
let verifier: Verifier;
let rebuildSub: Subscription;
const SEED = 3000;

beforeAll(async () => {
  world = await createPipelineWorld();
  await world.pool.query(`
    INSERT INTO advertiser (name) VALUES ('acme');
    INSERT INTO campaign (name, bid, budget, start_date, end_date, advertiser_id)
      SELECT 'c' || i, 1.25 * i, 1000.50, current_date - 5, current_date + 5, 1 FROM generate_series(1, 4) i;
    INSERT INTO impressions (campaign_id, created_at)
      SELECT 1 + i % 4, now()::timestamp - (i % 3) * interval '1 day' - (i * interval '1 second')
      FROM generate_series(1, ${SEED}) i;`);
  rebuildSub = serveReportsRebuild({
    nc: world.nc,
    namespace: world.namespace,
    reporter: world.reporter,
    logger: testLogger,
  });
  verifier = createTestVerifier(world);
  await world.idle();
}, 120_000);

afterAll(async () => {
  rebuildSub?.unsubscribe();
  await verifier?.stop();
  await world?.close();
});

const deleteInClickHouse = (ids: number[]) =>
  world.chs.client.command({
    query: `ALTER TABLE impressions DELETE WHERE id IN (${ids.join(", ")})`,
    clickhouse_settings: { mutations_sync: "2" },
  });
const table = (e: VerifyCompletedEvent, name: string) => {
  const t = e.tables.find((x) => x.table === name);
  if (!t) throw new Error(`no ${name} in the run`);
  return t;
};
const figures = (e: VerifyCompletedEvent, name: string) => {
  const { mode, rowsChecked, driftFound, sampleIds, clean, error } = table(e, name);
  return { mode, rowsChecked, driftFound, sampleIds, clean, error: error ?? null };
};

test("an incremental run compares only the ids changed since the last run, and repairs a changed row", async () => {
  // A transaction left open elsewhere on the server (another database) holds every snapshot's
  // xmin back: the runs below must still list only what changed since the last one.
  const idle = new pg.Client({ connectionString: testServerUrl });
  await idle.connect();
  await idle.query("BEGIN");
  await idle.query("SELECT pg_current_xact_id()");
  try {
    await changedSinceFull();
  } finally {
    await idle.end();
  }
}, 240_000);

async function changedSinceFull() {
  const full = await verifier.verify("full");
  expect(figures(full, "impressions")).toEqual({
    mode: "full",
    rowsChecked: SEED,
    driftFound: 0,
    sampleIds: [],
    clean: true,
    error: null,
  });
  expect(table(full, "impressions").verifiedAsOf).toMatch(/^\d+:\d+:/);

  // Five scattered rows moved to another campaign, 200 new rows in one run of ids.
  const moved = [200, 900, 1500, 2100, 2800];
  await world.pool.query("UPDATE impressions SET campaign_id = campaign_id % 4 + 1 WHERE id = ANY($1)", [
    moved,
  ]);
  const { rows } = await world.pool.query<{ id: string }>(
    "INSERT INTO impressions (campaign_id, created_at) SELECT 1 + i % 4, now() FROM generate_series(1, 200) i RETURNING id",
  );
  const inserted = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
  await world.idle();
  // Drift among the changed rows: one moved, one new, both lost in ClickHouse.
  const lostNew = inserted[50] as number;
  await deleteInClickHouse([900, lostNew]);

  const inc = await verifier.verify("incremental");
  expect(inc.mode).toBe("incremental");
  // 200 rows in the range of the new ids, 5 moved ids one by one: not the table's 3,200.
  expect(figures(inc, "impressions")).toEqual({
    mode: "incremental",
    rowsChecked: 205,
    driftFound: 2,
    sampleIds: [900, lostNew],
    clean: true,
    error: null,
  });
  expect(figures(inc, "campaign")).toMatchObject({ mode: "incremental", rowsChecked: 0, driftFound: 0 });
  expect(inc.reports?.skipped).toContain("incremental run");
  expect(inc.clean).toBe(true);

  // Nothing changed since: the next incremental run compares nothing and finds nothing.
  const quiet = await verifier.verify("incremental");
  expect(figures(quiet, "impressions")).toMatchObject({ mode: "incremental", rowsChecked: 0, driftFound: 0 });
  const rs = await world.chs.client.query({
    query: `SELECT count() AS n FROM impressions_current WHERE id IN (900, ${lostNew})`,
    format: "JSONEachRow",
  });
  expect(Number(((await rs.json()) as { n: string }[])[0]?.n)).toBe(2);
}

test("drift in rows PostgreSQL did not change is invisible to an incremental run; a full pass finds and repairs it", async () => {
  await deleteInClickHouse([50, 51]);
  const inc = await verifier.verify("incremental");
  expect(figures(inc, "impressions")).toMatchObject({ mode: "incremental", driftFound: 0, clean: true });

  const full = await verifier.verify("full");
  expect(figures(full, "impressions")).toMatchObject({
    mode: "full",
    rowsChecked: SEED + 200,
    driftFound: 2,
    sampleIds: [50, 51],
    clean: true,
  });
  const again = await verifier.verify("full");
  expect(figures(again, "impressions")).toMatchObject({ driftFound: 0, clean: true });
}, 240_000);

test("POST /verify takes the mode: incremental, full by default, a bad one is 400 naming the field", async () => {
  const app = createApp({
    extractor: world.extractor,
    logger: testLogger,
    checks: {},
    security: testSecurity,
    verify: verifier,
  });
  const post = (body?: string) => app.request("/verify", { method: "POST", headers: authorised, body });
  const bad = await post(JSON.stringify({ mode: "sometimes" }));
  expect(bad.status).toBe(400);
  const { error } = (await bad.json()) as { error: { code: string; message: string } };
  expect(error.code).toBe("invalid_request");
  expect(error.message).toStartWith("mode:");

  const inc = await post(JSON.stringify({ mode: "incremental" }));
  expect(inc.status).toBe(200);
  const incEvent = (await inc.json()) as VerifyCompletedEvent;
  expect([incEvent.mode, table(incEvent, "impressions").mode]).toEqual(["incremental", "incremental"]);

  const full = await post();
  expect(full.status).toBe(200);
  const fullEvent = (await full.json()) as VerifyCompletedEvent;
  expect([
    fullEvent.mode,
    table(fullEvent, "impressions").mode,
    table(fullEvent, "impressions").rowsChecked,
  ]).toEqual(["full", "full", SEED + 200]);
}, 240_000);

test("scheduled runs: a full pass first, then every VERIFY_FULL_EVERY-th run; the rest incremental", async () => {
  const modes: string[] = [];
  const sub = world.nc.subscribe(subjects(world.namespace).verifyCompleted, {
    callback: (_err, msg) => modes.push(msg.json<VerifyCompletedEvent>().mode ?? "none"),
  });
  const scheduled = createTestVerifier(world, { config: { intervalMs: 100, fullEvery: 3 } });
  scheduled.start();
  try {
    await waitFor(() => modes.length >= 5, { what: "five scheduled runs", timeoutMs: 120_000 });
  } finally {
    await scheduled.stop();
    sub.unsubscribe();
  }
  expect(modes.slice(0, 5)).toEqual(["full", "incremental", "incremental", "full", "incremental"]);
}, 180_000);
