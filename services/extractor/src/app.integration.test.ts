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
import { subjects } from "@adpipe/shared/contract";
import { createLogger } from "@adpipe/shared/logger";
import { createRegistry } from "@adpipe/shared/metrics";
import { connectNats, pingNats } from "@adpipe/shared/nats";
import { createPool } from "@adpipe/shared/pg";
import { createApp } from "./app.ts";
import { createExtractor, type Extractor } from "./extractor.ts";
import { createExtractorMetrics } from "./metrics.ts";
import { serveExtractRun } from "./run-subject.ts";
import { createHarness, type Harness, natsUrl, publishedVersions, seedCampaign } from "./test-support.ts";

let h: Harness;
let extractor: Extractor;
let app: ReturnType<typeof createApp>;
const logger = createLogger("test", "silent");

beforeAll(async () => {
  h = await createHarness();
  await seedCampaign(h.pool);
  extractor = h.newExtractor();
  app = createApp({
    extractor,
    logger,
    checks: { postgres: () => h.pool.query("SELECT 1"), nats: () => pingNats(h.nc) },
    security: testSecurity,
  });
});
afterAll(() => h.close());

const post = (path: string, body?: unknown) =>
  app.request(path, {
    method: "POST",
    headers: authorised,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });

describe("HTTP", () => {
  test("/health and /ready answer when PostgreSQL and NATS do", async () => {
    expect((await app.request("/health")).status).toBe(200);
    const ready = await app.request("/ready");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      dependencies: { postgres: { ok: true }, nats: { ok: true } },
    });
  });

  test("/ready is 503 naming PostgreSQL and NATS when they are unreachable", async () => {
    const deadPool = createPool({ connectionString: "postgres://postgres@127.0.0.1:1/none" });
    const closed = await connectNats({ url: natsUrl });
    await closed.close();
    const down = createApp({
      extractor,
      logger,
      checks: { postgres: () => deadPool.query("SELECT 1"), nats: () => pingNats(closed) },
    });
    const res = await down.request("/ready");
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toContain("postgres");
    expect(body.error.message).toContain("nats");
    await deadPool.end();
  });

  test("PostgreSQL unreachable: POST /extract is 503 naming the failed tables, nothing thrown", async () => {
    const deadPool = createPool({ connectionString: "postgres://postgres@127.0.0.1:1/none" });
    const down = createApp({
      extractor: createExtractor({
        pool: deadPool,
        js: h.nc.jetstream(),
        maxPayload: 1024 * 1024,
        config: h.config,
        logger,
      }),
      logger,
      checks: {},
      security: testSecurity,
    });
    const res = await down.request("/extract", { method: "POST", headers: authorised });
    expect(res.status).toBe(503);
    const body = (await res.json()) as {
      error: { code: string; message: string };
      results: { status: string }[];
    };
    expect(body.error.code).toBe("extract_failed");
    expect(body.error.message).toContain("impressions:");
    expect(body.results.map((r) => r.status)).toEqual(["failed", "failed", "failed", "failed", "failed"]);
    await deadPool.end();
  });

  test("POST /extract runs every table, or one", async () => {
    await h.pool.query("INSERT INTO impressions (campaign_id) SELECT id FROM campaign");
    const all = await post("/extract", {});
    expect(all.status).toBe(200);
    const { results } = (await all.json()) as { results: { table: string; status: string }[] };
    expect(results.map((r) => r.table)).toEqual([
      "advertiser",
      "campaign",
      "impressions",
      "clicks",
      "campaign_bids",
    ]);
    expect(results.find((r) => r.table === "impressions")?.status).toBe("published");

    const one = await post("/extract", { table: "campaign" });
    expect(((await one.json()) as { results: unknown[] }).results).toEqual([
      expect.objectContaining({ table: "campaign" }),
    ]);
    expect((await post("/extract")).status).toBe(200); // an empty body means every table
  });

  test("bad input is a 400 naming the field", async () => {
    for (const [path, body] of [
      ["/extract", { table: "users" }],
      ["/extract", { table: 7 }],
      ["/resync", {}],
      ["/resync", { table: "users" }],
    ] as const) {
      const res = await post(path, body);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe("invalid_request");
      expect(error.message).toStartWith("table:");
    }
    const res = await post("/extract", "{nope");
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toStartWith("body:");
  });

  test("GET /watermarks lists every table; POST /resync restarts one from zero", async () => {
    await post("/extract", {});
    const before = (await (await app.request("/watermarks")).json()) as {
      watermarks: { table: string; xid: string }[];
    };
    expect(before.watermarks.map((w) => w.table)).toEqual([
      "advertiser",
      "campaign",
      "impressions",
      "clicks",
      "campaign_bids",
    ]);
    expect(BigInt(before.watermarks.find((w) => w.table === "impressions")?.xid ?? "0")).toBeGreaterThan(0n);

    const published = publishedVersions(await h.deltas(), "impressions").length;
    const res = await post("/resync", { table: "impressions" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      watermark: { table: "impressions", xid: "0", pendingXid: null },
    });
    await post("/extract", { table: "impressions" });
    const { rows } = await h.pool.query("SELECT count(*)::int AS n FROM impressions");
    expect(publishedVersions(await h.deltas(), "impressions").length).toBe(published + (rows[0]?.n ?? 0));
  });
});

describe("NATS request subject", () => {
  test("<ns>.extract.run answers like POST /extract, and names an unknown table", async () => {
    const sub = serveExtractRun({ nc: h.nc, namespace: h.namespace, extractor, logger });
    try {
      const ask = async (body: unknown) =>
        (
          await h.nc.request(subjects(h.namespace).extractRun, JSON.stringify(body), { timeout: 10_000 })
        ).json<{
          results?: { table: string; status: string }[];
          error?: { code: string; message: string };
        }>();
      const all = await ask({});
      expect(all.results?.map((r) => r.table)).toEqual([
        "advertiser",
        "campaign",
        "impressions",
        "clicks",
        "campaign_bids",
      ]);
      expect((await ask({ table: "clicks" })).results).toEqual([
        expect.objectContaining({ table: "clicks" }),
      ]);
      const bad = await ask({ table: "users" });
      expect(bad.error?.code).toBe("invalid_request");
      expect(bad.error?.message).toContain("table: unknown table 'users'");
    } finally {
      sub.unsubscribe();
    }
  });
});

describe("API reference and metrics", () => {
  test("every mutating route needs the token, refuses other origins and non-JSON bodies", async () => {
    expect(await unguardedRoutes(app)).toEqual([]);
  });

  test("/openapi.json is valid OpenAPI 3 and documents exactly the routes served", async () => {
    expect(await documentedRoutes(app)).toEqual(routeTable(app));
    expect(await openApiLintProblems(app)).toEqual([]);
    expect(routeTable(app)).toEqual(
      expect.arrayContaining(["POST /extract", "GET /watermarks", "POST /resync"]),
    );
  });

  test("/metrics parses as Prometheus text and its counters move when rows are extracted", async () => {
    const registry = createRegistry("extractor");
    const metered = createExtractor({
      pool: h.pool,
      js: h.nc.jetstream(),
      maxPayload: 1 << 20,
      config: h.config,
      logger,
      metrics: createExtractorMetrics(registry),
    });
    const metricsApp = createApp({
      extractor: metered,
      logger,
      checks: {},
      registry,
      security: testSecurity,
    });
    await metered.extract();
    const before = await scrape(metricsApp);
    const campaignId = await seedCampaign(h.pool);
    await h.pool.query("INSERT INTO impressions (campaign_id) SELECT $1 FROM generate_series(1, 25)", [
      campaignId,
    ]);
    await metered.extract();
    const after = await scrape(metricsApp);
    const rows = (f: typeof before) => total(f, "adpipe_extractor_rows_total", { table: "impressions" });
    expect(rows(after) - rows(before)).toBe(25);
    expect(
      total(after, "adpipe_extractor_cycles_total", { table: "impressions", status: "published" }),
    ).toBeGreaterThan(0);
    expect(after.get("adpipe_extractor_cycle_duration_seconds")?.type).toBe("HISTOGRAM");
  });
});
