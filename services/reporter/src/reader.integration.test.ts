import { afterAll, beforeAll, expect, test } from "bun:test";
import { authorised } from "@adpipe/shared/api-testing";
import { waitFor } from "@adpipe/shared/testing";
import { addFacts, createReporterWorld, type ReporterWorld, seedCampaigns } from "@adpipe/testing";

// Readers must never see a missing campaign, an empty report or a count that is not one of the
// states the writes went through, whatever rebuild is running.

let w: ReporterWorld;
const CAMPAIGNS = 6;

beforeAll(async () => {
  w = await createReporterWorld();
  await seedCampaigns(w, CAMPAIGNS);
  for (let c = 1; c <= CAMPAIGNS; c++) await addFacts(w, "impressions", c, 5);
  await waitFor(
    async () => {
      const rows = (await w.get("/kpis/campaigns")) as { impressions: number }[];
      return rows.length === CAMPAIGNS && rows.every((r) => r.impressions === 5);
    },
    { what: "seeded reports" },
  );
});
afterAll(async () => {
  await w?.close();
});

type Campaign = { campaign_id: number; impressions: number; clicks: number };

test("continuous reads during event and forced full rebuilds never see a partial report", async () => {
  let writing = true;
  const expected = new Map<number, number>();
  for (let c = 1; c <= CAMPAIGNS; c++) expected.set(c, 5);

  const writer = (async () => {
    for (let i = 0; i < 20 && writing; i++) {
      const c = 1 + (i % CAMPAIGNS);
      await addFacts(w, "impressions", c, 3);
      expected.set(c, (expected.get(c) ?? 0) + 3);
      if (i % 7 === 0) await w.app.request("/reports/rebuild", { method: "POST", headers: authorised });
      await Bun.sleep(15);
    }
    writing = false;
  })();

  // One history per endpoint: the three reads of a round run concurrently, so the totals report
  // may be served just before a rebuild and /kpis/campaigns just after it; only each endpoint's
  // own successive answers are ordered in time.
  const seenBy = { kpis: new Map<number, number>(), "totals report": new Map<number, number>() };
  let reads = 0;
  const check = (rows: Campaign[], where: keyof typeof seenBy) => {
    const seen = seenBy[where];
    expect(
      rows.map((r) => r.campaign_id),
      where,
    ).toEqual(Array.from({ length: CAMPAIGNS }, (_, i) => i + 1));
    for (const r of rows) {
      // Only inserts happen: a campaign's count never goes back, and only ever by whole batches.
      expect(r.impressions, where).toBeGreaterThanOrEqual(seen.get(r.campaign_id) ?? 5);
      expect((r.impressions - 5) % 3, where).toBe(0);
      seen.set(r.campaign_id, r.impressions);
    }
  };
  try {
    while (writing) {
      const [kpis, totals, daily] = await Promise.all([
        w.get("/kpis/campaigns") as Promise<Campaign[]>,
        w.get("/reports/advertiser_campaigns_totals_report") as Promise<Campaign[]>,
        w.get("/reports/advertiser_campaigns_daily_ctr_report") as Promise<Campaign[]>,
      ]);
      check(kpis, "kpis");
      check(totals, "totals report");
      // One day of traffic per campaign: the daily report has every campaign's row, always.
      expect(daily.map((r) => r.campaign_id).sort((a, b) => a - b)).toEqual(
        Array.from({ length: CAMPAIGNS }, (_, i) => i + 1),
      );
      reads++;
    }
  } finally {
    // A failed check ends the writer too, before afterAll stops ClickHouse under it.
    writing = false;
    await writer;
  }
  expect(reads).toBeGreaterThan(10);
  await waitFor(
    async () => {
      const rows = (await w.get("/kpis/campaigns")) as Campaign[];
      return rows.every((r) => r.impressions === expected.get(r.campaign_id));
    },
    { what: "final counts" },
  );
}, 30_000);
