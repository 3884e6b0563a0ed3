// Per-table pause and resume (issue #34, docs/operations.md#pausing-a-table) under a continuous
// writer (the fault suite's mix over 50 campaigns): impressions paused, clicks keep flowing,
// impressions' watermark and its deltas stay where the pause found them, verification skips the
// table and says so; after resume every row is in ClickHouse exactly once and every KPI is right.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createExtractorApp, servePauseRequests } from "@adpipe/extractor";
import { authorised, testSecurity } from "@adpipe/shared/api-testing";
import { HEADERS, streams, subjects, type TableName } from "@adpipe/shared/contract";
import { waitFor } from "@adpipe/shared/testing";
import { createPipelineWorld, createTestVerifier, type PipelineWorld, testLogger } from "@adpipe/testing";
import { compareEverything } from "@adpipe/testing/truth";
import { seed, startWriter } from "./faults/writer.ts";

let w: PipelineWorld;
let app: ReturnType<typeof createExtractorApp>;
let campaigns: number[];

interface Watermark {
  table: string;
  xid: string;
  pausedSince: string | null;
}

beforeAll(async () => {
  w = await createPipelineWorld();
  app = createExtractorApp({
    extractor: w.extractor,
    logger: testLogger,
    checks: { paused_tables: () => w.extractor.pausedWarning() },
    security: testSecurity,
  });
  campaigns = await seed(w.pool);
  await w.idle();
}, 180_000);

afterAll(async () => {
  await w?.close();
});

const post = async (path: string, body: unknown) => {
  const res = await app.request(path, { method: "POST", headers: authorised, body: JSON.stringify(body) });
  return {
    status: res.status,
    body: (await res.json()) as { watermark: Watermark; error?: { message: string } },
  };
};
const watermarkOf = async (table: TableName) => {
  const body = (await (await app.request("/watermarks")).json()) as { watermarks: Watermark[] };
  return body.watermarks.find((m) => m.table === table) as Watermark;
};
/** The window end of the last delta published for a table. */
const lastPublished = async (table: TableName) =>
  (
    await w.jsm.streams.getMessage(streams(w.namespace).delta, {
      last_by_subj: subjects(w.namespace).delta(table),
    })
  ).header.get(HEADERS.watermarkTo);
const chCount = async (table: TableName) => {
  const rs = await w.chs.client.query({
    query: `SELECT count() AS n FROM ${table}_current`,
    format: "JSONEachRow",
  });
  return Number((await rs.json<{ n: string }>())[0]?.n);
};

test("impressions paused under load: clicks flow, impressions wait at their watermark; resumed: exact, once", async () => {
  const writer = startWriter(w.pool, campaigns, { seed: 34 });
  try {
    const clicksBefore = await chCount("clicks");
    await waitFor(async () => (await chCount("clicks")) > clicksBefore, {
      what: "clicks flowing",
      timeoutMs: 60_000,
    });

    const paused = await post("/pause", { table: "impressions" });
    expect(paused.status).toBe(200);
    const held = paused.body.watermark;
    expect(held.pausedSince).not.toBeNull();
    // Once the pause is answered nothing more is published for the table: the last delta ends at
    // or below the watermark the pause kept (at it, unless the last cycles found no impressions).
    const publishedAtPause = await lastPublished("impressions");
    expect(BigInt(publishedAtPause) <= BigInt(held.xid)).toBe(true);
    const ready = (await (await app.request("/ready")).json()) as {
      dependencies: Record<string, { warning?: string }>;
    };
    expect(ready.dependencies.paused_tables?.warning).toBe(`paused: impressions since ${held.pausedSince}`);

    // The writer goes on; clicks keep arriving in ClickHouse through many cycles...
    const clicksAtPause = await chCount("clicks");
    await waitFor(async () => (await chCount("clicks")) >= clicksAtPause + 20, {
      what: "20 more clicks in ClickHouse while impressions are paused",
      timeoutMs: 60_000,
    });
    const { results } = await w.extractor.extract();
    expect(results.find((r) => r.table === "impressions")).toMatchObject({
      status: "paused",
      pausedSince: held.pausedSince,
    });
    // ... while impressions' watermark and last delta stay, with changes waiting in PostgreSQL.
    expect(await watermarkOf("impressions")).toEqual({ ...held });
    expect(await lastPublished("impressions")).toBe(publishedAtPause);
    const waiting = await w.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM impressions WHERE _xid >= $1::xid8",
      [held.xid],
    );
    expect(waiting.rows[0]?.n).toBeGreaterThan(0);
    // Pausing again keeps the first time.
    expect((await post("/pause", { table: "impressions" })).body.watermark.pausedSince).toBe(
      held.pausedSince,
    );
  } finally {
    await writer.stop();
  }

  // Verification skips the paused table and the reports (they lag it on purpose), and says so.
  await w.idle();
  const verifier = createTestVerifier(w, {
    config: { chunkIds: 5000, leafIds: 64, recheckTimeoutMs: undefined },
  });
  const since = (await watermarkOf("impressions")).pausedSince;
  const during = await verifier.verify();
  expect(during.tables.map((t) => [t.table, t.skipped ?? "compared", t.driftFound])).toEqual([
    ["advertiser", "compared", 0],
    ["campaign", "compared", 0],
    ["impressions", `paused since ${since}`, 0],
    ["clicks", "compared", 0],
    ["campaign_bids", "compared", 0],
  ]);
  expect(during.reports?.skipped).toBe(`impressions paused since ${since}: the reports lag it on purpose`);
  expect(verifier.status().exactAsOf).toBeNull();

  const resumed = await post("/resume", { table: "impressions" });
  expect(resumed.status).toBe(200);
  expect(resumed.body.watermark.pausedSince).toBeNull();
  await w.idle();
  const truth = { pool: w.pool, get: w.get, clickhouse: w.chs.client, now: w.now };
  await compareEverything(truth);
  // Exactly once: every id once in the view, and as many as PostgreSQL holds.
  const rs = await w.chs.client.query({
    query: "SELECT count() AS n, uniqExact(id) AS ids FROM impressions_current",
    format: "JSONEachRow",
  });
  const [ch] = await rs.json<{ n: string; ids: string }>();
  const pg = (await w.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM impressions")).rows[0]?.n;
  expect({ rows: Number(ch?.n), ids: Number(ch?.ids) }).toEqual({ rows: pg as number, ids: pg as number });
  const after = await verifier.verify();
  expect({ clean: after.clean, skipped: after.tables.filter((t) => t.skipped).length }).toEqual({
    clean: true,
    skipped: 0,
  });
}, 300_000);

test("pause and resume answer 400 naming the field for an unknown table, and need the token", async () => {
  const unknown = await post("/pause", { table: "nope" });
  expect({ status: unknown.status, message: unknown.body.error?.message }).toEqual({
    status: 400,
    message:
      "table: unknown table 'nope'; expected one of advertiser, campaign, impressions, clicks, campaign_bids",
  });
  const res = await app.request("/resume", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ table: "clicks" }),
  });
  expect(res.status).toBe(401);
});

test("the same through NATS: <ns>.extract.pause and <ns>.extract.resume answer with the watermark", async () => {
  const subs = servePauseRequests({
    nc: w.nc,
    namespace: w.namespace,
    extractor: w.extractor,
    logger: testLogger,
  });
  try {
    const ask = async (subject: string, body: unknown) =>
      (
        await w.nc.request(subject, new TextEncoder().encode(JSON.stringify(body)), { timeout: 10_000 })
      ).json<{ watermark?: Watermark; error?: { code: string; message: string } }>();
    const s = subjects(w.namespace);
    const paused = await ask(s.extractPause, { table: "advertiser" });
    expect(paused.watermark?.pausedSince).toBe((await watermarkOf("advertiser")).pausedSince);
    expect(paused.watermark?.pausedSince).not.toBeNull();
    const resumed = await ask(s.extractResume, { table: "advertiser" });
    expect(resumed.watermark?.pausedSince).toBeNull();
    expect((await watermarkOf("advertiser")).pausedSince).toBeNull();
    expect((await ask(s.extractPause, {})).error?.code).toBe("invalid_request");
  } finally {
    for (const sub of subs) sub.unsubscribe();
  }
});
