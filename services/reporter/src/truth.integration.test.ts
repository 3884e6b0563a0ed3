import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createOperations, type Operations } from "@adpipe/generator/src/operations.ts";
import { authorised } from "@adpipe/shared/api-testing";
import { createPipelineWorld, type PipelineWorld } from "./test-support.ts";

// The truth test: the real pipeline in-process; every KPI the API serves must equal the same KPI
// computed straight from PostgreSQL by the independent queries below.

let w: PipelineWorld;
let ops: Operations;

beforeAll(async () => {
  w = await createPipelineWorld();
  ops = createOperations(w.pool);
});
afterAll(async () => {
  await w?.close();
});

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TRUTH_CAMPAIGNS = `
WITH base AS (
  SELECT c.id AS campaign_id, c.name AS campaign_name, c.advertiser_id, a.name AS advertiser_name,
         c.bid, c.budget, c.start_date, c.end_date,
         (SELECT count(*) FROM impressions i WHERE i.campaign_id = c.id) AS impressions,
         (SELECT count(*) FROM clicks k WHERE k.campaign_id = c.id) AS clicks,
         (now() AT TIME ZONE 'UTC')::date AS rd
  FROM campaign c LEFT JOIN advertiser a ON a.id = c.advertiser_id
), d AS (
  SELECT *, clicks * bid AS spend,
         CASE WHEN start_date IS NULL OR end_date IS NULL OR end_date < start_date THEN 0
              ELSE end_date - start_date + 1 END AS days_total
  FROM base
), e AS (
  SELECT *, CASE WHEN days_total = 0 THEN 0
                 ELSE greatest(0, least(days_total, rd - start_date + 1)) END AS days_elapsed
  FROM d
)
SELECT campaign_id, campaign_name, advertiser_id, advertiser_name, bid::float8 AS bid, budget::float8 AS budget,
  start_date::text AS start_date, end_date::text AS end_date, impressions::int AS impressions, clicks::int AS clicks,
  CASE WHEN impressions = 0 THEN 0 ELSE clicks::float8 / impressions END AS ctr,
  spend::float8 AS spend, (budget - spend)::float8 AS budget_remaining,
  CASE WHEN budget = 0 THEN 0 ELSE spend::float8 / budget::float8 * 100 END AS budget_used_pct,
  CASE WHEN spend >= budget THEN 'exhausted' WHEN spend >= 0.8 * budget THEN 'warning' ELSE 'ok' END AS budget_status,
  days_total, days_elapsed, days_total - days_elapsed AS days_remaining,
  (CASE WHEN days_total = 0 THEN 0 ELSE trunc(budget / days_total, 2) END)::float8 AS daily_norm,
  (CASE WHEN days_elapsed = 0 THEN 0 ELSE trunc(spend / days_elapsed, 2) END)::float8 AS daily_used,
  CASE WHEN days_total = 0 OR days_elapsed = 0 OR budget = 0 THEN 0
       ELSE spend::float8 * days_total / (budget::float8 * days_elapsed) END AS pacing,
  (CASE WHEN impressions = 0 THEN 0 ELSE trunc(spend * 1000 / impressions, 2) END)::float8 AS cpm,
  (CASE WHEN clicks = 0 THEN 0 ELSE trunc(spend / clicks, 2) END)::float8 AS cpc,
  CASE WHEN start_date IS NULL OR end_date IS NULL THEN 'unscheduled' WHEN end_date < start_date THEN 'invalid'
       WHEN rd < start_date THEN 'scheduled' WHEN rd <= end_date THEN 'active' ELSE 'ended' END AS period_status,
  rd::text AS report_date
FROM e ORDER BY campaign_id`;

const TRUTH_DAILY = `
WITH i AS (SELECT campaign_id, created_at::date AS d, count(*) AS n FROM impressions
           WHERE campaign_id IS NOT NULL AND created_at IS NOT NULL GROUP BY 1, 2),
     k AS (SELECT campaign_id, created_at::date AS d, count(*) AS n FROM clicks
           WHERE campaign_id IS NOT NULL AND created_at IS NOT NULL GROUP BY 1, 2),
     j AS (SELECT coalesce(i.campaign_id, k.campaign_id) AS campaign_id, coalesce(i.d, k.d) AS d,
                  coalesce(i.n, 0)::int AS impressions, coalesce(k.n, 0)::int AS clicks
           FROM i FULL JOIN k ON i.campaign_id = k.campaign_id AND i.d = k.d)
SELECT j.campaign_id, j.d::text AS date, c.advertiser_id, j.d - c.start_date + 1 AS day_number,
       j.impressions, j.clicks, CASE WHEN j.impressions = 0 THEN 0 ELSE j.clicks::float8 / j.impressions END AS ctr
FROM j LEFT JOIN campaign c ON c.id = j.campaign_id
ORDER BY 1, 2`;

type Row = Record<string, unknown>;
const MONEY = new Set([
  "bid",
  "budget",
  "spend",
  "budget_remaining",
  "daily_norm",
  "daily_used",
  "cpm",
  "cpc",
]);
const FLOAT = new Set(["ctr", "pacing", "budget_used_pct", "planned_to_date"]);

/** Integers and text exactly, money to the cent, ratios to 1e-9 relative. */
function expectSame(actual: Row[], expected: Row[], what: string) {
  expect(actual.length, `${what}: row count`).toBe(expected.length);
  expected.forEach((exp, i) => {
    const act = actual[i] as Row;
    for (const [key, value] of Object.entries(exp)) {
      const label = `${what}[${i}].${key} (${JSON.stringify(exp).slice(0, 80)})`;
      const got = act[key];
      if (MONEY.has(key)) expect(Math.round(Number(got) * 100), label).toBe(Math.round(Number(value) * 100));
      else if (FLOAT.has(key))
        expect(Math.abs(Number(got) - Number(value)), label).toBeLessThanOrEqual(
          1e-9 * Math.max(1, Math.abs(Number(value))),
        );
      else expect(got, label).toEqual(value as never);
    }
  });
}

async function compareEverything() {
  const campaigns = (await w.pool.query(TRUTH_CAMPAIGNS)).rows as Row[];
  const daily = (await w.pool.query(TRUTH_DAILY)).rows as Row[];

  expectSame((await w.get("/kpis/campaigns")) as Row[], campaigns, "/kpis/campaigns");
  expectSame(
    (await w.get("/reports/advertiser_campaigns_totals_report")) as Row[],
    campaigns,
    "totals report",
  );
  for (const c of campaigns) {
    expectSame(
      [(await w.get(`/kpis/campaigns/${c.campaign_id}`)) as Row],
      [c],
      `/kpis/campaigns/${c.campaign_id}`,
    );
    const days = daily.filter((d) => d.campaign_id === c.campaign_id);
    expectSame(
      (await w.get(`/kpis/daily?campaign_id=${c.campaign_id}`)) as Row[],
      days,
      `daily ${c.campaign_id}`,
    );
  }
  expectSame(
    (await w.get("/reports/advertiser_campaigns_daily_ctr_report")) as Row[],
    daily,
    "daily ctr report",
  );

  const byDate = new Map<string, { impressions: number; clicks: number }>();
  for (const d of daily) {
    const s = byDate.get(d.date as string) ?? { impressions: 0, clicks: 0 };
    s.impressions += d.impressions as number;
    s.clicks += d.clicks as number;
    byDate.set(d.date as string, s);
  }
  const allDays = [...byDate.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([date, s]) => ({ date, ...s, ctr: s.impressions === 0 ? 0 : s.clicks / s.impressions }));
  expectSame((await w.get("/kpis/daily")) as Row[], allDays, "daily, all campaigns");

  const advertisers = new Map<number, Row & { campaigns: number }>();
  for (const c of campaigns) {
    if (c.advertiser_id === null) continue;
    const a =
      advertisers.get(c.advertiser_id as number) ??
      ({
        advertiser_id: c.advertiser_id,
        advertiser_name: c.advertiser_name,
        campaigns: 0,
        impressions: 0,
        clicks: 0,
        spend: 0,
        budget: 0,
        planned_to_date: 0,
      } as Row & { campaigns: number });
    a.campaigns++;
    for (const k of ["impressions", "clicks", "spend", "budget"]) a[k] = (a[k] as number) + Number(c[k]);
    const dt = c.days_total as number;
    a.planned_to_date =
      (a.planned_to_date as number) +
      (dt === 0 ? 0 : ((c.budget as number) * (c.days_elapsed as number)) / dt);
    advertisers.set(c.advertiser_id as number, a);
  }
  const advertiserRows = [...advertisers.values()]
    .sort((x, y) => (x.advertiser_id as number) - (y.advertiser_id as number))
    .map((a) => ({
      ...a,
      ctr: a.impressions === 0 ? 0 : (a.clicks as number) / (a.impressions as number),
      budget_remaining: (a.budget as number) - (a.spend as number),
      pacing: a.planned_to_date === 0 ? 0 : (a.spend as number) / (a.planned_to_date as number),
    }));
  expectSame((await w.get("/kpis/advertisers")) as Row[], advertiserRows, "/kpis/advertisers");

  for (const by of ["ctr", "spend"] as const) {
    const top = [...campaigns]
      .sort((x, y) => Number(y[by]) - Number(x[by]) || (x.campaign_id as number) - (y.campaign_id as number))
      .slice(0, 5)
      .map((c) => ({
        campaign_id: c.campaign_id,
        impressions: c.impressions,
        clicks: c.clicks,
        ctr: c.ctr,
        spend: c.spend,
      }));
    expectSame((await w.get(`/kpis/top?by=${by}&limit=5`)) as Row[], top, `/kpis/top?by=${by}`);
  }
  return { campaigns: campaigns.length, days: daily.length };
}

describe("truth", () => {
  test("every KPI equals PostgreSQL's after a batch and a random mix of inserts, updates and deletes", async () => {
    const batch = await ops.batch({ advertisers: 3, campaigns: 3, impressions: 300, ctr: 0.1 });
    const ids = [...batch.campaignIds];
    // Reported first, so what follows is rebuilt incrementally on top of it.
    await w.idle();
    // Deletes pick rows loaded before the mix: a row inserted and deleted within one extractor
    // window arrives as a lone tombstone, which (safely) forces a full rebuild; this test wants
    // the incremental path under deletes too. The whole-campaign delete below covers the other.
    const loaded = (
      await w.pool.query("SELECT (SELECT max(id) FROM impressions) AS i, (SELECT max(id) FROM clicks) AS k")
    ).rows[0] as { i: number; k: number };
    const random = rng(Number(process.env.TRUTH_SEED ?? 42));
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)] as T;
    const q = (sql: string, params: unknown[] = []) => w.pool.query(sql, params);

    for (let step = 0; step < 40; step++) {
      const c = pick(ids);
      const r = random();
      if (r < 0.25) await ops.impressions(c, 1 + Math.floor(random() * 40));
      else if (r < 0.4) await ops.clicks(c, 0.02);
      else if (r < 0.5)
        await q("UPDATE campaign SET bid = $1, budget = $2 WHERE id = $3", [
          (0.5 + random() * 3).toFixed(2),
          (random() < 0.2 ? 0 : 20 + random() * 200).toFixed(2),
          c,
        ]);
      else if (r < 0.6) {
        const start = Math.floor(random() * 10) - 8;
        const len = Math.floor(random() * 12) - 2;
        await q(
          "UPDATE campaign SET start_date = CURRENT_DATE + $1::int, end_date = CURRENT_DATE + $2::int WHERE id = $3",
          [start, start + len, c],
        );
      } else if (r < 0.65) await q("UPDATE campaign SET start_date = NULL WHERE id = $1", [c]);
      else if (r < 0.75)
        await q(
          "DELETE FROM clicks WHERE id IN (SELECT id FROM clicks WHERE campaign_id = $1 AND id <= $2 ORDER BY random() LIMIT 3)",
          [c, loaded.k],
        );
      else if (r < 0.85)
        await q(
          "DELETE FROM impressions WHERE id IN (SELECT id FROM impressions WHERE campaign_id = $1 AND id <= $2 ORDER BY random() LIMIT 10)",
          [c, loaded.i],
        );
      else if (r < 0.95)
        await q("UPDATE advertiser SET name = name || 'x' WHERE id = $1", [pick(batch.advertiserIds)]);
      else await q("UPDATE campaign SET advertiser_id = $1 WHERE id = $2", [pick(batch.advertiserIds), c]);
      if (step === 10) {
        // Rows without created_at count in totals but on no day.
        await q("INSERT INTO impressions (campaign_id, created_at) VALUES ($1, NULL), ($1, NULL)", [c]);
        await q("INSERT INTO clicks (campaign_id, created_at) VALUES ($1, NULL)", [c]);
        await q(
          "UPDATE impressions SET created_at = NULL WHERE id = (SELECT min(id) FROM impressions WHERE campaign_id = $1)",
          [pick(ids)],
        );
      }
      if (step === 20) {
        // A whole campaign goes: its clicks and impressions first (foreign keys).
        const gone = ids.splice(ids.indexOf(c), 1)[0];
        await q("DELETE FROM clicks WHERE campaign_id = $1", [gone]);
        await q("DELETE FROM impressions WHERE campaign_id = $1", [gone]);
        await q("DELETE FROM campaign WHERE id = $1", [gone]);
        await w.idle();
      }
      if (step % 10 === 0) await Bun.sleep(0);
    }
    await w.idle();
    const counts = await compareEverything();
    expect(counts.campaigns).toBe(8);
    expect(counts.days).toBeGreaterThan(8);
    const status = (await w.get("/reports/status")) as {
      counters: { rebuilds: number };
      rebuilds: { incremental: number; full: number };
    };
    expect(status.counters.rebuilds).toBeGreaterThanOrEqual(3);
    // Most were incremental (a row inserted and deleted within one window looks "lost": full).
    expect(status.rebuilds.incremental).toBeGreaterThanOrEqual(2);

    // Moves: impressions and clicks UPDATEd to another campaign or day. PostgreSQL's trigger
    // records each as a delete of the old version plus the new one, so the old (campaign, day)
    // is rebuilt too, even once ClickHouse merged the old version away.
    for (let step = 0; step < 6; step++) {
      const table = step % 2 === 0 ? "impressions" : "clicks";
      await q(
        `UPDATE ${table} SET campaign_id = $1, created_at = created_at - interval '1 day'
         WHERE id IN (SELECT id FROM ${table} WHERE campaign_id = $2 ORDER BY random() LIMIT 5)`,
        [pick(ids), pick(ids)],
      );
    }
    await w.idle();
    await compareEverything();

    // A forced full rebuild changes nothing that is read.
    const res = await w.app.request("/reports/rebuild", { method: "POST", headers: authorised });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { full: boolean }).full).toBe(true);
    await compareEverything();
  }, 60_000);

  test("a reset (TRUNCATE) empties every report", async () => {
    await ops.reset();
    await w.idle();
    expect(await w.get("/kpis/campaigns")).toEqual([]);
    expect(await w.get("/kpis/daily")).toEqual([]);
    expect(await w.get("/kpis/advertisers")).toEqual([]);
    expect(await w.get("/reports/advertiser_campaigns_daily_ctr_report")).toEqual([]);
  }, 30_000);
});
