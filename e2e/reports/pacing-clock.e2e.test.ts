import { afterAll, beforeAll, expect, test } from "bun:test";
import { createKpis, loadQueries } from "@adpipe/reporter";
import { createPipelineWorld, type PipelineWorld } from "@adpipe/testing";

// Pacing by the clock (docs/kpis.md, "Pacing"): a campaign that has spent exactly its budget x
// the elapsed fraction of its flight is on track with pacing 1 at any hour of the day, not only
// at midnight. Three campaigns share one 10-day flight that began two days before day D and a
// budget of 48.00; at D 00:30, 06:00 and 23:30 (2 days + 1,800 / 21,600 / 84,600 s elapsed) the
// plan to date is 9.70, 10.80 and 14.30, which 97, 108 and 143 clicks at 0.10 cost exactly.

let w: PipelineWorld;
const DAY = new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10);
const CASES = [
  { at: "00:30:00", clicks: 97, planned: 9.7 },
  { at: "06:00:00", clicks: 108, planned: 10.8 },
  { at: "23:30:00", clicks: 143, planned: 14.3 },
] as const;
const ids: number[] = [];

beforeAll(async () => {
  w = await createPipelineWorld();
  const { rows } = await w.pool.query<{ id: number }>(
    "INSERT INTO advertiser (name) VALUES ('Pacer') RETURNING id",
  );
  for (const c of CASES) {
    const campaign = await w.pool.query<{ id: number }>(
      `INSERT INTO campaign (name, bid, budget, start_date, end_date, advertiser_id)
       VALUES ($1, 0.10, 48.00, $2::date - 2, $2::date + 7, $3) RETURNING id`,
      [`paced at ${c.at}`, DAY, rows[0]?.id],
    );
    const id = Number(campaign.rows[0]?.id); // bigint comes back as text
    ids.push(id);
    await w.pool.query(
      "INSERT INTO clicks (campaign_id, created_at) SELECT $1, now() FROM generate_series(1, $2)",
      [id, c.clicks],
    );
  }
  await w.idle();
});
afterAll(async () => {
  await w?.close();
});

type Paced = { campaign_id: number; pacing: number; planned_to_date: number; cost: number; delivery: string };

for (const [i, c] of CASES.entries())
  test(`at ${c.at} UTC the campaign that spent exactly its plan is on track, pacing 1.00`, async () => {
    const kpis = createKpis(w.chs.client, loadQueries(), () => new Date(`${DAY}T${c.at}Z`));
    const rows = (await kpis.pacing({})) as Paced[];
    const own = rows.find((r) => r.campaign_id === ids[i]) as Paced;
    expect(own.cost).toBe(c.planned);
    expect(own.planned_to_date).toBe(c.planned);
    expect(own.pacing).toBeCloseTo(1, 12);
    expect(own.pacing.toFixed(2)).toBe("1.00");
    expect(own.delivery).toBe("on_track");
    // The same figures on the campaign endpoint.
    const [campaign] = (await kpis.campaigns({ campaign_id: ids[i] })) as Paced[];
    expect(campaign?.pacing).toBe(own.pacing);
    expect(campaign?.planned_to_date).toBe(own.planned_to_date);
    // The same clock flags the others by how far their cost is from this plan: more is over
    // (above 110 %) or on track, less is under or on track, never the reverse.
    for (const [j, other] of rows.filter((r) => ids.includes(r.campaign_id)).entries()) {
      const ratio = (CASES[j]?.clicks ?? 0) / c.clicks;
      expect(other.pacing).toBeCloseTo(ratio, 9);
      expect(other.delivery).toBe(ratio > 1.1 ? "over" : ratio < 0.9 ? "under" : "on_track");
    }
  });
