import { afterAll, beforeAll, expect, test } from "bun:test";
import { waitFor } from "@adpipe/shared/testing";
import {
  addFacts,
  createReporterWorld,
  type ReporterWorld,
  reporterTestConfig,
  seedCampaigns,
  testLogger,
} from "@adpipe/testing";
import { createReporter } from "./reporter.ts";

let w: ReporterWorld;

beforeAll(async () => {
  w = await createReporterWorld();
  await seedCampaigns(w, 3);
});
afterAll(async () => {
  await w?.close();
});

type Status = {
  counters: { events: number; rebuilds: number; failures: number };
  last_rebuild: { version: string; full: boolean; reason: string } | null;
  last_error: unknown;
  events: { pending: number; unacknowledged: number } | null;
  watermark: Record<string, string>;
};
const status = () => w.get("/reports/status") as Promise<Status>;
const impressionsOf = async (id: number) =>
  ((await w.get(`/kpis/campaigns/${id}`)) as { impressions: number }).impressions;

test("a burst of loaded events becomes a few rebuilds, each event acknowledged", async () => {
  await waitFor(async () => (await status()).counters.events >= 2, { what: "seed events" });
  const before = await status();
  const xids = await Promise.all(
    Array.from({ length: 40 }, (_, i) => addFacts(w, "impressions", 1 + (i % 3), 2)),
  );
  // Transaction ids are handed out in call order: the last call has the greatest.
  const last = xids[xids.length - 1] as bigint;
  await waitFor(async () => BigInt((await status()).watermark.impressions ?? 0) > last, {
    what: "burst covered",
  });
  const after = await status();
  expect(after.counters.events - before.counters.events).toBe(40);
  expect(after.counters.rebuilds - before.counters.rebuilds).toBeLessThanOrEqual(8);
  expect(after.last_rebuild?.full).toBe(false);
  expect((await impressionsOf(1)) + (await impressionsOf(2)) + (await impressionsOf(3))).toBe(80);
});

test("the reports.updated event names the reports and the watermark covered", async () => {
  const sub = w.nc.subscribe(`${w.namespace}.reports.updated`, { max: 1 });
  await addFacts(w, "clicks", 2, 1);
  for await (const msg of sub) {
    const event = msg.json() as {
      reports: string[];
      watermark: Record<string, string>;
      full: boolean;
      durationMs: number;
    };
    expect(event.reports).toContain("advertiser_campaigns_daily_ctr_report");
    expect(event.reports).toContain("advertiser_campaigns_totals_report");
    expect(event.watermark.clicks).toBeDefined();
    expect(event.full).toBe(false);
    expect(event.durationMs).toBeGreaterThan(0);
  }
});

test("a restarted reporter writes greater versions and rebuilds empty reports at start-up", async () => {
  const before = await status();
  for (const t of ["advertiser_campaigns", "advertiser_campaigns_totals_report"])
    await w.chs.client.command({ query: `TRUNCATE TABLE ${t}` });
  await w.restartReporter();
  const after = await status();
  expect(after.last_rebuild?.reason).toBe("start-up");
  expect(BigInt(after.last_rebuild?.version ?? 0)).toBeGreaterThan(BigInt(before.last_rebuild?.version ?? 0));
  expect(((await w.get("/kpis/campaigns")) as unknown[]).length).toBe(3);
});

test("while ClickHouse is down rebuilds fail and /ready says so; after its restart the reporter catches up", async () => {
  const base = await impressionsOf(3);
  await w.chs.server.kill();
  // The loader would not announce anything now; a campaign event already in flight is enough.
  await w.nc.jetstream().publish(
    `${w.namespace}.loaded.campaign`,
    JSON.stringify({
      table: "campaign",
      batchIds: ["in-flight"],
      kinds: ["upsert"],
      rows: 1,
      watermark: "99999",
      windows: [{ from: "99998", to: "99999" }],
      loadedAt: new Date().toISOString(),
    }),
  );
  await waitFor(async () => (await status()).last_error !== null, { what: "a failed rebuild" });
  expect((await w.app.request("/ready")).status).toBe(503);
  await w.chs.restart();
  await addFacts(w, "impressions", 3, 4);
  await waitFor(async () => (await w.app.request("/ready")).status === 200, {
    what: "ready again",
    timeoutMs: 20_000,
  });
  await waitFor(async () => (await status()).watermark.campaign === "99999", {
    what: "the failed event rebuilt",
  });
  await waitFor(async () => (await impressionsOf(3)) === base + 4, { what: "new facts reported" });
}, 40_000);

test("a new UTC day re-rates every campaign's day-dependent KPIs", async () => {
  let date = new Date().toISOString().slice(0, 10);
  const reporter = createReporter({
    js: w.nc.jetstream(),
    jsm: w.jsm,
    clickhouse: w.chs.client,
    config: reporterTestConfig(w.namespace),
    logger: testLogger,
    today: () => date,
  });
  await reporter.rebuildAll();
  expect(await reporter.checkDate()).toBeNull();
  const before = (await w.get("/kpis/campaigns/1")) as { days_elapsed: number; report_date: string };
  date = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const result = await reporter.checkDate();
  expect(result?.reason).toBe("date-change");
  expect(result?.reports).toEqual(["advertiser_campaigns", "advertiser_campaigns_totals_report"]);
  const after = (await w.get("/kpis/campaigns/1")) as { days_elapsed: number; report_date: string };
  expect(after.report_date).toBe(date);
  expect(after.days_elapsed).toBe(before.days_elapsed + 1);
});

test("a delete whose older versions a merge already collapsed stays a keyed rebuild: its id bucket is recounted", async () => {
  await addFacts(w, "impressions", 2, 3);
  await waitFor(async () => (await status()).counters.failures >= 0 && (await impressionsOf(2)) > 0, {
    what: "facts",
  });
  const before = await waitFor(
    async () => {
      const s = await status();
      return s.events && s.events.pending === 0 && s.events.unacknowledged === 0
        ? impressionsOf(2)
        : undefined;
    },
    { what: "idle" },
  );
  const [victim] = (await (
    await w.chs.client.query({
      query: "SELECT id FROM impressions_current WHERE campaign_id = 2 ORDER BY id DESC LIMIT 1",
      format: "JSONEachRow",
    })
  ).json()) as { id: number }[];
  // The tombstone lands, then a merge leaves only it: the row's campaign is gone from ClickHouse.
  await w.chs.client.command({
    query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid, _deleted) VALUES (${victim?.id}, NULL, NULL, 99999999, 5000000, 1)`,
  });
  await w.chs.client.command({ query: "OPTIMIZE TABLE impressions FINAL" });
  const [versions] = (await (
    await w.chs.client.query({
      query: `SELECT count() AS n, countIf(campaign_id IS NOT NULL) AS known FROM impressions WHERE id = ${victim?.id}`,
      format: "JSONEachRow",
    })
  ).json()) as { n: number; known: number }[];
  expect(Number(versions?.known)).toBe(0);
  await w.nc.jetstream().publish(
    `${w.namespace}.loaded.impressions`,
    JSON.stringify({
      table: "impressions",
      batchIds: ["delete"],
      kinds: ["delete"],
      rows: 1,
      watermark: "5000001",
      windows: [{ from: "5000000", to: "5000001" }],
      loadedAt: new Date().toISOString(),
    }),
  );
  await waitFor(async () => (await status()).watermark.impressions === "5000001", { what: "delete handled" });
  // The tombstone no longer names the campaign; the recount of the id's bucket (migration 0007)
  // finds the row gone without it, so no full rebuild is needed.
  expect((await status()).last_rebuild?.full).toBe(false);
  expect(await impressionsOf(2)).toBe(before - 1);
});
