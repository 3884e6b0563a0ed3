import { afterAll, beforeAll, expect, test } from "bun:test";
import { createPool, type Pool } from "@adpipe/shared/pg";
import { createTestDatabase, type TestDatabase } from "@adpipe/shared/testing";
import { dailyShare } from "./realistic.ts";
import { createRealisticStep } from "./realistic-step.ts";

let db: TestDatabase;
let pool: Pool;
beforeAll(async () => {
  db = await createTestDatabase();
  pool = createPool({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

const DAY = 86_400_000;

test("the daily curve: none of the day's traffic at midnight, all of it at the next, always rising", () => {
  expect(dailyShare(0)).toBeCloseTo(0, 10);
  expect(dailyShare(1)).toBeCloseTo(1, 10);
  for (let x = 0; x < 1; x += 0.01) expect(dailyShare(x + 0.01)).toBeGreaterThan(dailyShare(x));
  // Evening busier than morning.
  expect(dailyShare(21 / 24) - dailyShare(19 / 24)).toBeGreaterThan(dailyShare(9 / 24) - dailyShare(7 / 24));
});

test("after 120 simulated minutes: within budget, within flight, CTRs like real ones, median pacing near 1", async () => {
  // A fast clock: every step is ten simulated minutes.
  let clock = Date.parse("2026-11-20T09:00:00Z");
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const realistic = createRealisticStep({ pool, random, now: () => new Date(clock), adjustChance: 0.5 });
  const first = await realistic.seed(3, 4);
  expect(first.campaignIds).toHaveLength(12);
  expect(first.impressions).toBeGreaterThan(0);
  let changes = 0;
  for (let i = 0; i < 12; i++) {
    clock += 10 * 60_000;
    const { result } = await realistic.step();
    if (result.bid_changed || result.budget_changed) changes++;
  }
  expect(changes).toBeGreaterThan(0);
  const now = new Date(clock);
  // Traffic arrives at "now": the last step's window (ten minutes) has impressions.
  const latest = await pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM impressions WHERE created_at > $1::timestamp",
    [new Date(clock - 10 * 60_000).toISOString().replace("Z", "")],
  );
  expect(latest.rows[0]?.n).toBeGreaterThan(0);

  const { rows } = await pool.query<{
    id: number;
    bid: string;
    budget: string;
    start_date: string;
    end_date: string;
    impressions: number;
    clicks: number;
    cost: number;
    outside: number;
  }>(
    `SELECT c.id, c.bid, c.budget, c.start_date, c.end_date,
            (SELECT count(*) FROM impressions i WHERE i.campaign_id = c.id)::int AS impressions,
            (SELECT count(*) FROM clicks k WHERE k.campaign_id = c.id)::int AS clicks,
            -- cost: each click at the bid in force when it happened (the history's latest row at or
            -- before it, else its first), as the reports price it.
            (SELECT coalesce(sum(coalesce(
               (SELECT h.bid FROM campaign_bids h WHERE h.campaign_id = k.campaign_id AND h.valid_from <= k.created_at
                ORDER BY h.valid_from DESC, h.id DESC LIMIT 1),
               (SELECT h.bid FROM campaign_bids h WHERE h.campaign_id = k.campaign_id ORDER BY h.valid_from, h.id DESC LIMIT 1),
               c.bid)), 0)::float8 FROM clicks k WHERE k.campaign_id = c.id) AS cost,
            ((SELECT count(*) FROM impressions i WHERE i.campaign_id = c.id
                AND (i.created_at < c.start_date OR i.created_at >= c.end_date + 1 OR i.created_at > $1::timestamp))
           + (SELECT count(*) FROM clicks k WHERE k.campaign_id = c.id
                AND (k.created_at < c.start_date OR k.created_at >= c.end_date + 1 OR k.created_at > $1::timestamp)))::int AS outside
     FROM campaign c ORDER BY c.id`,
    [now.toISOString().replace("Z", "")],
  );
  expect(rows.length).toBeGreaterThanOrEqual(12);
  const today = now.toISOString().slice(0, 10);
  const pacings: number[] = [];
  for (const c of rows) {
    const bid = Number(c.bid);
    const budget = Number(c.budget);
    const spend = bid * c.clicks; // docs/kpis.md's definition: clicks × bid
    expect({ id: c.id, over: spend > budget + bid }).toEqual({ id: c.id, over: false });
    // At the bids in force too (bids changed along the way): never over budget.
    expect({ id: c.id, costOver: c.cost > budget + 1e-9 }).toEqual({ id: c.id, costOver: false });
    expect({ id: c.id, outside: c.outside }).toEqual({ id: c.id, outside: 0 });
    // Flights started in the past and end in the future.
    expect(c.start_date < today && c.end_date > today).toBe(true);
    if (c.impressions >= 5000) {
      const ctr = c.clicks / c.impressions;
      expect(ctr).toBeGreaterThan(0.003);
      expect(ctr).toBeLessThan(0.035);
    }
    // Pacing as the KPI API defines it: spend / (budget × days_elapsed / days_total).
    const daysTotal = (Date.parse(c.end_date) - Date.parse(c.start_date)) / DAY + 1;
    const daysElapsed = (Date.parse(today) - Date.parse(c.start_date)) / DAY + 1;
    pacings.push(spend / ((budget * daysElapsed) / daysTotal));
  }
  pacings.sort((a, b) => a - b);
  const median = pacings[Math.floor(pacings.length / 2)] as number;
  expect(median).toBeGreaterThanOrEqual(0.5);
  expect(median).toBeLessThanOrEqual(1.5);
  // Not everyone on the same plan: some ahead of others.
  expect((pacings.at(-1) as number) - (pacings[0] as number)).toBeGreaterThan(0.1);
});

test("delivery stops at the budget and after the flight", async () => {
  // A database of its own: the first test's campaigns would otherwise be delivered days of
  // traffic when this test moves the clock.
  const own = await createTestDatabase();
  const pool = createPool({ connectionString: own.url, max: 2 });
  try {
    await deliveryStops(pool);
  } finally {
    await pool.end();
    await own.drop();
  }
});

async function deliveryStops(pool: Pool) {
  let clock = Date.parse("2026-12-01T12:00:00Z");
  // Delivery alone: no bid or budget change, no new advertiser (each would bring days of history).
  const realistic = createRealisticStep({
    pool,
    now: () => new Date(clock),
    adjustChance: 0,
    minDeliverable: 0,
    launchChance: 0,
  });
  const { campaignIds } = await realistic.seed(1, 2);
  const [a, b] = campaignIds as [number, number];
  // One campaign has spent its budget; the other's flight ended yesterday.
  await pool.query(
    "UPDATE campaign SET budget = bid * (SELECT count(*) FROM clicks WHERE campaign_id = $1) WHERE id = $1",
    [a],
  );
  await pool.query("UPDATE campaign SET end_date = DATE '2026-12-03' WHERE id = $1", [b]);
  const count = async (id: number) =>
    (
      await pool.query<{ i: number; k: number }>(
        "SELECT (SELECT count(*) FROM impressions WHERE campaign_id = $1)::int AS i, (SELECT count(*) FROM clicks WHERE campaign_id = $1)::int AS k",
        [id],
      )
    ).rows[0];
  const before = await count(a);
  clock += 3_600_000;
  await realistic.step();
  expect((await count(a))?.k).toBe(before?.k as number);

  clock = Date.parse("2026-12-04T12:00:00Z");
  const afterFlight = await count(b);
  await realistic.step();
  expect(await count(b)).toEqual(afterFlight as { i: number; k: number });
}

test("at 06:00 UTC, bun start's first batch then one minute of 5 s steps: visible traffic, nothing over budget or outside its flight", async () => {
  const own = await createTestDatabase();
  const pool = createPool({ connectionString: own.url, max: 2 });
  try {
    // The quiet end of the daily curve (0.4-0.5 x the mean around 06:00-08:00 UTC).
    let clock = Date.parse("2026-12-08T06:00:00Z");
    const realistic = createRealisticStep({ pool, now: () => new Date(clock) });
    await realistic.seed(3, 4);
    const steps: number[] = [];
    for (let i = 0; i < 12; i++) {
      clock += 5_000;
      const { result } = await realistic.step();
      steps.push(Number(result.impressions));
    }
    // Traffic a newcomer sees in nearly every step of the first minute (budgets worth 40–400
    // clicks gave 0 to 4 steps of 12 with any impression at this hour; these, 12 of 12 in 5 runs).
    expect(steps.filter((n) => n > 0).length).toBeGreaterThanOrEqual(10);
    const { rows } = await pool.query<{ over: number; outside: number }>(
      `SELECT count(*) FILTER (WHERE c.bid * (SELECT count(*) FROM clicks k WHERE k.campaign_id = c.id) > c.budget)::int AS over,
              (SELECT count(*) FROM impressions i JOIN campaign c2 ON c2.id = i.campaign_id
               WHERE i.created_at < c2.start_date OR i.created_at >= c2.end_date + 1)::int AS outside
       FROM campaign c`,
    );
    expect(rows[0]).toEqual({ over: 0, outside: 0 });
    console.log(`06:00 UTC, impressions per 5 s step over the first minute: ${steps.join(", ")}`);
  } finally {
    await pool.end();
    await own.drop();
  }
});
