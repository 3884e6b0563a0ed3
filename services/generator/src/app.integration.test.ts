import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  authorised,
  documentedRoutes,
  openApiLintProblems,
  routeTable,
  scrape,
  testSecurity,
  total,
  unguardedRoutes,
} from "@adpipe/shared/api-testing";
import { createLogger } from "@adpipe/shared/logger";
import { createRegistry } from "@adpipe/shared/metrics";
import { createPool, type Pool } from "@adpipe/shared/pg";
import { createTestDatabase, type TestDatabase, waitFor } from "@adpipe/shared/testing";
import { createApp } from "./app.ts";
import { instrumentOperations } from "./metrics.ts";
import { createOperations } from "./operations.ts";
import { createSimulation } from "./simulation.ts";

let db: TestDatabase;
let pool: Pool;
let app: ReturnType<typeof createApp>;
let simulation: ReturnType<typeof createSimulation>;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = createPool({ connectionString: db.url, max: 4 });
  const logger = createLogger("generator-test", "silent");
  const registry = createRegistry("generator");
  const ops = instrumentOperations(createOperations(pool), registry);
  simulation = createSimulation({ ops, pool, logger, intervalSeconds: 1 });
  app = createApp({ pool, ops, simulation, logger, registry, security: testSecurity });
});
afterAll(async () => {
  await simulation.stop();
  await pool.end();
  await db.drop();
});

const post = (path: string, body?: unknown) =>
  app.request(path, {
    method: "POST",
    headers: authorised,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const one = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  (await pool.query(sql, params)).rows[0] as T;

describe("generator HTTP triggers", () => {
  test("health and readiness", async () => {
    expect((await app.request("/health")).status).toBe(200);
    const ready = await app.request("/ready");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", dependencies: { postgres: { ok: true } } });
  });

  test("POST /generate/batch follows the original data semantics", async () => {
    const res = await post("/generate/batch", { advertisers: 2, campaigns: 4, impressions: 60, ctr: 0.15 });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { campaign_ids: number[]; impressions: number; clicks: number };
    expect(body.campaign_ids).toHaveLength(8);
    expect([body.impressions, body.clicks]).toEqual([480, 72]);

    const names = await pool.query("SELECT name FROM advertiser ORDER BY id");
    expect(names.rows.map((r) => r.name)).toEqual(["Advertiser A", "Advertiser B"]);
    const campaigns = await pool.query(
      `SELECT c.name, a.id AS advertiser_id, bid::float8 AS bid, budget::float8 AS budget,
              start_date = CURRENT_DATE AS starts_today, end_date - start_date AS days
       FROM campaign c JOIN advertiser a ON a.id = c.advertiser_id ORDER BY c.id`,
    );
    campaigns.rows.forEach((c, i) => {
      expect(c.name).toBe(`Campaign_${c.advertiser_id}_${(i % 4) + 1}`);
      expect(c.bid).toBeGreaterThanOrEqual(0.5);
      expect(c.bid).toBeLessThanOrEqual(5);
      expect(c.budget).toBeGreaterThanOrEqual(50);
      expect(c.budget).toBeLessThanOrEqual(500);
      expect(c.starts_today).toBe(true);
      expect(c.days).toBeGreaterThanOrEqual(7);
      expect(c.days).toBeLessThanOrEqual(30);
    });

    const spread = await one<{ oldest_ok: boolean; newest_ok: boolean; days: number }>(
      `SELECT min(created_at) >= LOCALTIMESTAMP - interval '8 days' AS oldest_ok,
              max(created_at) <= LOCALTIMESTAMP AS newest_ok,
              count(DISTINCT created_at::date)::int AS days
       FROM impressions`,
    );
    expect(spread).toEqual({ oldest_ok: true, newest_ok: true, days: expect.any(Number) });
    expect(spread.days).toBeGreaterThan(3);

    // Every click follows an impression of its campaign by 1 to 120 seconds.
    const orphan = await one<{ n: number }>(
      `SELECT count(*)::int AS n FROM clicks k WHERE NOT EXISTS (
         SELECT 1 FROM impressions i WHERE i.campaign_id = k.campaign_id
           AND k.created_at - i.created_at BETWEEN interval '1 second' AND interval '120 seconds')`,
    );
    expect(orphan.n).toBe(0);
    const perCampaign = await pool.query("SELECT count(*)::int AS n FROM clicks GROUP BY campaign_id");
    expect(perCampaign.rows.map((r) => r.n)).toEqual(Array(8).fill(9));
  });

  test("single operations and their 404s", async () => {
    const adv = await post("/generate/advertisers", { count: 2 });
    expect(adv.status).toBe(201);
    const { advertiser_ids } = (await adv.json()) as { advertiser_ids: number[] };
    const camp = await post("/generate/campaigns", { advertiser_id: advertiser_ids[0], count: 1 });
    const { campaign_ids } = (await camp.json()) as { campaign_ids: number[] };
    const campaignId = campaign_ids[0];

    const noImpressions = await post("/generate/clicks", { campaign_id: campaignId, ratio: 0.5 });
    expect(noImpressions.status).toBe(400);
    expect(await noImpressions.json()).toEqual({
      error: {
        code: "invalid_request",
        message: `campaign_id: no impressions found for campaign ${campaignId}; creating clicks requires impressions`,
      },
    });

    expect(
      await (await post("/generate/impressions", { campaign_id: campaignId, count: 30 })).json(),
    ).toEqual({
      impressions: 30,
    });
    expect(await (await post("/generate/clicks", { campaign_id: campaignId, ratio: 0.5 })).json()).toEqual({
      clicks: 15,
    });

    const missingCampaign = await post("/generate/impressions", { campaign_id: 987654, count: 3 });
    expect(missingCampaign.status).toBe(404);
    expect(await missingCampaign.json()).toEqual({
      error: { code: "not_found", message: "campaign 987654 not found" },
    });
    const missingAdvertiser = await post("/generate/campaigns", { advertiser_id: 987654 });
    expect(missingAdvertiser.status).toBe(404);
  });

  test("bad input is a 400 naming the field, and writes nothing", async () => {
    const before = await one<{ n: number }>("SELECT count(*)::int AS n FROM impressions");
    const cases: [string, unknown, string][] = [
      ["/generate/batch", { impressions: -1 }, "impressions: must be at least 0"],
      [
        "/generate/batch",
        { advertisers: 1000, campaigns: 1000, impressions: 1000 },
        "impressions: advertisers × campaigns",
      ],
      ["/generate/batch", { ctr: 1.5 }, "ctr: must be between 0 and 1"],
      ["/generate/advertisers", { count: "many" }, "count: expected a number"],
      ["/generate/impressions", { count: 5 }, "campaign_id:"],
      ["/generate/clicks", { campaign_id: 1, ratio: -0.1 }, "ratio: must be between 0 and 1"],
    ];
    for (const [path, body, message] of cases) {
      const res = await post(path, body);
      expect(res.status).toBe(400);
      const json = (await res.json()) as { error: { code: string; message: string } };
      expect(json.error.code).toBe("invalid_request");
      expect(json.error.message).toStartWith(message);
    }
    const broken = await app.request("/generate/batch", {
      method: "POST",
      headers: authorised,
      body: "{nope",
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { message: string } }).error.message).toBe(
      "body: invalid JSON",
    );
    expect(await one("SELECT count(*)::int AS n FROM impressions")).toEqual(before);
  });

  test("GET /stats matches the tables", async () => {
    const res = await app.request("/stats");
    const stats = (await res.json()) as { impressions: number; clicks: number; campaign_details: unknown[] };
    const truth = await one<{ i: number; c: number; k: number }>(
      "SELECT (SELECT count(*) FROM impressions)::int AS i, (SELECT count(*) FROM clicks)::int AS c, (SELECT count(*) FROM campaign)::int AS k",
    );
    expect([stats.impressions, stats.clicks, stats.campaign_details.length]).toEqual([
      truth.i,
      truth.c,
      truth.k,
    ]);
  });

  test("the simulation runs actions on its interval and stops", async () => {
    expect(((await (await app.request("/simulate")).json()) as { running: boolean }).running).toBe(false);
    const started = await post("/simulate/start", { interval_seconds: 1 });
    expect(await started.json()).toMatchObject({ running: true, intervalSeconds: 1 });
    const state = await waitFor(
      async () => {
        const s = (await (await app.request("/simulate")).json()) as { runs: number };
        return s.runs >= 2 ? s : undefined;
      },
      { timeoutMs: 10_000, what: "two simulated actions" },
    );
    expect(state).toMatchObject({ running: true, failures: 0, last: { action: expect.any(String) } });
    const stopped = (await (await post("/simulate/stop")).json()) as { running: boolean; runs: number };
    expect(stopped.running).toBe(false);
    expect((await post("/simulate/start", { interval_seconds: 0.2 })).status).toBe(400);
  });

  test("a reset without the token, from another origin or as text/plain or a form changes nothing", async () => {
    const counts = () =>
      one("SELECT (SELECT count(*) FROM campaign)::int + (SELECT count(*) FROM impressions)::int AS n");
    const before = await counts();
    expect(before).not.toEqual({ n: 0 });
    const reset = (headers: Record<string, string>, body = '{"confirm":"yes"}') =>
      app.request("/reset", { method: "POST", headers, body });
    const token = authorised.authorization;
    expect((await reset({ "content-type": "application/json" })).status).toBe(401);
    expect(
      (await reset({ "content-type": "application/json", authorization: "Bearer nope-nope-nope-nope" }))
        .status,
    ).toBe(401);
    expect((await reset({ ...authorised, origin: "http://attacker.example" })).status).toBe(403);
    expect((await reset({ authorization: token, "content-type": "text/plain" })).status).toBe(415);
    const form = await reset(
      { authorization: token, "content-type": "application/x-www-form-urlencoded" },
      "confirm=yes",
    );
    expect(form.status).toBe(415);
    expect(await counts()).toEqual(before);
  });

  test("coerced numbers and an empty body get 400 naming the field, and write nothing", async () => {
    const before = await one("SELECT count(*)::int AS n FROM impressions");
    for (const value of ["true", "[1]", '"0x2"', '" 2 "', "1e999"]) {
      for (const field of ["advertisers", "impressions", "ctr"]) {
        const res = await app.request("/generate/batch", {
          method: "POST",
          headers: authorised,
          body: `{"${field}":${value}}`,
        });
        expect(res.status).toBe(400);
        expect(((await res.json()) as { error: { message: string } }).error.message).toStartWith(`${field}:`);
      }
    }
    const empty = await post("/generate/batch");
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: { message: string } }).error.message).toStartWith("body:");
    expect(await one("SELECT count(*)::int AS n FROM impressions")).toEqual(before);
  });

  test("POST /reset requires the confirmation field", async () => {
    const refused = await post("/reset", {});
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toStartWith("confirm:");
    expect((await one<{ n: number }>("SELECT count(*)::int AS n FROM campaign")).n).toBeGreaterThan(0);
    expect((await post("/reset", { confirm: "yes" })).status).toBe(200);
    const left = await one(
      "SELECT (SELECT count(*) FROM campaign)::int + (SELECT count(*) FROM impressions)::int AS n",
    );
    expect(left).toEqual({ n: 0 });
  });
});

describe("generator API reference and metrics", () => {
  test("every mutating route needs the token, refuses other origins and non-JSON bodies", async () => {
    expect(await unguardedRoutes(app)).toEqual([]);
    await simulation.stop();
  });

  test("/openapi.json is valid OpenAPI 3 and documents exactly the routes served", async () => {
    expect(await documentedRoutes(app)).toEqual(routeTable(app));
    expect(await openApiLintProblems(app)).toEqual([]);
    expect(routeTable(app)).toContain("POST /generate/batch");
    const docs = await app.request("/docs");
    expect(docs.headers.get("content-type")).toContain("text/html");
  });

  test("/metrics parses as Prometheus text and its counters move when rows are written", async () => {
    const before = await scrape(app);
    await post("/generate/batch", { advertisers: 1, campaigns: 2, impressions: 40, ctr: 0.5 });
    const after = await scrape(app);
    const rows = (f: Awaited<ReturnType<typeof scrape>>, table: string) =>
      total(f, "adpipe_generator_rows_total", { table });
    expect(rows(after, "impressions") - rows(before, "impressions")).toBe(80);
    expect(rows(after, "clicks") - rows(before, "clicks")).toBe(40);
    const batches = (f: Awaited<ReturnType<typeof scrape>>) =>
      total(f, "adpipe_generator_operations_total", { operation: "batch", outcome: "ok" });
    expect(batches(after) - batches(before)).toBe(1);
    expect(after.get("adpipe_generator_operation_duration_seconds")?.type).toBe("HISTOGRAM");
  });
});
