import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  authorised,
  documentedRoutes,
  openApiLintProblems,
  routeTable,
  scrape,
  total,
  unguardedRoutes,
} from "@adpipe/shared/api-testing";
import { waitFor } from "@adpipe/shared/testing";
import { addFacts, createReporterWorld, type ReporterWorld, seedCampaigns } from "@adpipe/testing";

let w: ReporterWorld;

beforeAll(async () => {
  // Pacing is read by the clock: noon UTC today, so the plan to date is the same at any hour.
  w = await createReporterWorld({
    now: () => new Date(`${new Date().toISOString().slice(0, 10)}T12:00:00Z`),
  });
  await seedCampaigns(w, 2);
  await addFacts(w, "impressions", 1, 10);
  await addFacts(w, "clicks", 1, 2);
  await waitFor(async () => ((await w.get("/kpis/campaigns/1")) as { clicks: number }).clicks === 2, {
    what: "reports",
  });
});
afterAll(async () => {
  await w?.close();
});

async function error(path: string) {
  const res = await w.app.request(path);
  return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
}

describe("validation", () => {
  const cases: [string, string][] = [
    ["/kpis/campaigns?advertiser_id=abc", "advertiser_id"],
    ["/kpis/campaigns?advertiser_id=0", "advertiser_id"],
    ["/kpis/campaigns?format=xml", "format"],
    ["/kpis/campaigns/1.5", "id"],
    ["/kpis/campaigns/x", "id"],
    ["/kpis/daily?campaign_id=-1", "campaign_id"],
    ["/kpis/daily?from=2026-13-01", "from"],
    ["/kpis/daily?to=2026-02-30", "to"],
    ["/kpis/daily?from=yesterday", "from"],
    ["/kpis/daily?from=2026-11-20&to=2026-11-19", "to"],
    ["/kpis/top?by=clicks", "by"],
    ["/kpis/top?limit=0", "limit"],
    ["/kpis/top?limit=1001", "limit"],
    ["/kpis/top?limit=ten", "limit"],
    ["/kpis/advertisers?advertiser_id=1e99", "advertiser_id"],
    ["/kpis/campaigns?advertiser_id=0x1", "advertiser_id"],
    ["/kpis/campaigns?advertiser_id=%201", "advertiser_id"],
    ["/kpis/campaigns?advertiser_id=1e0", "advertiser_id"],
    ["/kpis/top?limit=0x10", "limit"],
    ["/reports/advertiser_campaigns_daily_ctr_report?from=2026-1-1", "from"],
    ["/kpis/daily?advertiser_id=0", "advertiser_id"],
    ["/kpis/pacing?advertiser_id=x", "advertiser_id"],
    ["/kpis/pacing/advertisers?format=xml", "format"],
  ];
  for (const [path, field] of cases) {
    test(`${path} → 400 naming ${field}`, async () => {
      const { status, body } = await error(path);
      expect(status).toBe(400);
      expect(body.error.code).toBe("invalid_request");
      expect(body.error.message.startsWith(`${field}:`)).toBe(true);
    });
  }

  test("unknown campaign → 404", async () => {
    expect((await error("/kpis/campaigns/999")).status).toBe(404);
    const daily = await error("/kpis/daily?campaign_id=999");
    expect(daily.status).toBe(404);
    expect(daily.body.error.code).toBe("not_found");
  });
});

describe("responses", () => {
  test("JSON: integers as numbers, money rounded to cents, ctr a fraction, dates YYYY-MM-DD", async () => {
    const c = (await w.get("/kpis/campaigns/1")) as Record<string, unknown>;
    expect(c).toMatchObject({
      campaign_id: 1,
      advertiser_id: 1,
      impressions: 10,
      clicks: 2,
      ctr: 0.2,
      spend: 3,
    });
    expect(c.start_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const daily = (await w.get("/kpis/daily?campaign_id=1")) as Record<string, unknown>[];
    expect(daily).toHaveLength(1);
    expect(daily[0]).toMatchObject({ campaign_id: 1, impressions: 10, clicks: 2, ctr: 0.2 });
    const today = new Date().toISOString().slice(0, 10);
    expect(await w.get(`/kpis/daily?campaign_id=1&from=${today}&to=${today}`)).toHaveLength(1);
    expect(await w.get("/kpis/daily?campaign_id=1&to=2000-01-01")).toEqual([]);
    expect(await w.get("/kpis/top?by=ctr&limit=1")).toMatchObject([{ campaign_id: 1 }]);
    expect(await w.get("/kpis/advertisers")).toMatchObject([{ advertiser_id: 1, campaigns: 2, spend: 3 }]);
    expect(await w.get("/kpis/daily?advertiser_id=1")).toMatchObject([
      { impressions: 10, clicks: 2, ctr: 0.2 },
    ]);
    expect(await w.get("/kpis/daily?advertiser_id=2")).toEqual([]);
    // seedCampaigns: a 14-day flight, day 4 today, at noon 3.5 days gone; 3.00 spent of 100 →
    // planned 25.00, projected 12.00, under.
    expect(await w.get("/kpis/pacing?advertiser_id=1")).toMatchObject([
      {
        campaign_id: 1,
        days_total: 14,
        days_elapsed: 4,
        elapsed_days: 3.5,
        spend: 3,
        cost: 3,
        planned_to_date: 25,
        pacing: 0.12,
        projected_spend: 12,
        delivery: "under",
      },
      { campaign_id: 2, spend: 0, projected_spend: 0, delivery: "under" },
    ]);
    expect(await w.get("/kpis/pacing/advertisers")).toMatchObject([
      { advertiser_id: 1, campaigns: 2, paced_campaigns: 2, spend: 3, campaigns_under: 2 },
    ]);
  });

  test("CSV: a header line, then one parseable line per row", async () => {
    const res = await w.app.request("/kpis/campaigns?format=csv");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/csv");
    const lines = (await res.text()).trimEnd().split("\r\n");
    const header = (lines[0] as string).split(",");
    expect(header.slice(0, 3)).toEqual(["campaign_id", "campaign_name", "advertiser_id"]);
    expect(lines).toHaveLength(3);
    const first = Object.fromEntries((lines[1] as string).split(",").map((v, i) => [header[i], v]));
    expect(first).toMatchObject({ campaign_id: "1", impressions: "10", clicks: "2", spend: "3" });
  });

  test("/health and /ready", async () => {
    expect((await w.app.request("/health")).status).toBe(200);
    const ready = await w.app.request("/ready");
    expect(ready.status).toBe(200);
  });
});

describe("API reference and metrics", () => {
  test("every mutating route (dashboard controls included) needs the token", async () => {
    expect(await unguardedRoutes(w.app)).toEqual([]);
  });

  test("/openapi.json is valid OpenAPI 3 and documents exactly the routes served", async () => {
    expect(await documentedRoutes(w.app)).toEqual(routeTable(w.app));
    expect(await openApiLintProblems(w.app)).toEqual([]);
    expect(routeTable(w.app)).toEqual(
      expect.arrayContaining(["GET /kpis/campaigns", "GET /kpis/daily", "POST /reports/rebuild"]),
    );
  });

  test("/metrics parses as Prometheus text and its counters move with rebuilds", async () => {
    const before = await scrape(w.app);
    expect((await w.app.request("/reports/rebuild", { method: "POST", headers: authorised })).status).toBe(
      200,
    );
    const after = await scrape(w.app);
    const forced = (f: typeof before) =>
      total(f, "adpipe_reporter_rebuilds_total", { reason: "forced", kind: "full" });
    expect(forced(after) - forced(before)).toBe(1);
    expect(after.get("adpipe_reporter_rebuild_duration_seconds")?.type).toBe("HISTOGRAM");
  });
});

describe("dashboard", () => {
  test("/ and its assets are served by the reporter (no CDN)", async () => {
    const page = await w.app.request("/");
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    expect(html).toContain('src="/dashboard/app.js"');
    expect(html).not.toMatch(/https?:\/\//);
    const js = await w.app.request("/dashboard/app.js");
    expect(js.headers.get("content-type")).toContain("javascript");
    expect((await w.app.request("/dashboard/style.css")).headers.get("content-type")).toContain("text/css");
    expect(html).toContain('src="/dashboard/pacing.js"');
    expect((await w.app.request("/dashboard/pacing.js")).headers.get("content-type")).toContain("javascript");
    expect((await w.app.request("/dashboard/secrets.txt")).status).toBe(400);
  });

  test("/dashboard/api/pipeline: services that are down show as down, ClickHouse counts still come", async () => {
    const res = await w.app.request("/dashboard/api/pipeline");
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      services: { name: string; up: boolean; ready: boolean; error: string | null }[];
      tables: { table: string; ch_rows: number | null; pg_rows: number | null }[];
      dead_letters: { error?: string };
    };
    // Down for the reason they are: nothing listens there (the call did not wait for anything).
    expect(body.services.map((s) => [s.name, s.up, s.error])).toEqual([
      ["generator", false, "connection refused"],
      ["extractor", false, "connection refused"],
      ["loader", false, "connection refused"],
      ["reporter", true, null],
    ]);
    expect(body.tables.find((t) => t.table === "impressions")).toMatchObject({ ch_rows: 10, pg_rows: null });
    expect(body.dead_letters.error).toBeString();
  });

  test("/dashboard/api/events streams the pipeline's state at once and a `reports` event after each rebuild", async () => {
    const res = await w.app.request("/dashboard/api/events");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const events: { type: string; data: string }[] = [];
    let buffered = "";
    /** Reads until an event of `type` has arrived (bounded by the test's timeout). */
    const next = async (type: string) => {
      for (;;) {
        const found = events.find((e) => e.type === type);
        if (found) return found;
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buffered += decoder.decode(value, { stream: true });
        for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
          const lines = buffered.slice(0, end).split("\n");
          buffered = buffered.slice(end + 2);
          events.push({
            type:
              lines
                .find((l) => l.startsWith("event:"))
                ?.slice(6)
                .trim() ?? "message",
            data: lines
              .filter((l) => l.startsWith("data:"))
              .map((l) => l.slice(5).trim())
              .join("\n"),
          });
        }
      }
    };
    try {
      const pipeline = JSON.parse((await next("pipeline")).data) as {
        tables: { table: string; ch_rows: number }[];
      };
      expect(pipeline.tables.find((t) => t.table === "impressions")?.ch_rows).toBe(10);
      expect(events.some((e) => e.type === "reports")).toBe(false);
      await addFacts(w, "impressions", 2, 3);
      const reports = JSON.parse((await next("reports")).data) as { reports: string[]; full: boolean };
      expect(reports.reports.length).toBeGreaterThan(0);
      expect(reports.full).toBe(false);
    } finally {
      await reader.cancel();
    }
  });

  test("a control whose service is down answers 502 naming it", async () => {
    const res = await w.app.request("/dashboard/api/generate-batch", {
      method: "POST",
      headers: authorised,
      body: "{}",
    });
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("upstream_unavailable");
    expect(body.error.message).toStartWith("generator:");
  });
});
