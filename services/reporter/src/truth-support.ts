import { expect } from "bun:test";
import type { ClickHouseClient } from "@adpipe/shared/clickhouse";
import type { Pool } from "@adpipe/shared/pg";

// The truth: every KPI the API serves must equal the same KPI computed straight from PostgreSQL
// by the independent queries below (used by truth.integration.test.ts and the fault tests).

export interface TruthWorld {
  pool: Pool;
  get(path: string): Promise<unknown>;
  /** When given, the four entity tables (`<table>_current`) are compared row by row too. */
  clickhouse?: ClickHouseClient;
}

// Each entity table read on both sides as canonical text, so PostgreSQL and ClickHouse compare exactly.
const TS = {
  pg: (c: string) => `to_char(${c}, 'YYYY-MM-DD HH24:MI:SS.US')`,
  ch: (c: string) => `formatDateTime(${c}, '%Y-%m-%d %H:%i:%S.%f')`,
};
const ENTITY_COLUMNS: Record<string, { pg: string[]; ch: string[] }> = {
  advertiser: {
    pg: ["id", "name", TS.pg("updated_at"), TS.pg("created_at")],
    ch: ["id", "name", TS.ch("updated_at"), TS.ch("created_at")],
  },
  campaign: {
    pg: ["id", "name", "bid::text", "budget::text", "start_date::text", "end_date::text", "advertiser_id"],
    ch: [
      "id",
      "name",
      "toDecimalString(bid, 2)",
      "toDecimalString(budget, 2)",
      "toString(start_date)",
      "toString(end_date)",
      "advertiser_id",
    ],
  },
  impressions: {
    pg: ["id", "campaign_id", TS.pg("created_at")],
    ch: ["id", "campaign_id", TS.ch("created_at")],
  },
  clicks: { pg: ["id", "campaign_id", TS.pg("created_at")], ch: ["id", "campaign_id", TS.ch("created_at")] },
};
const line = (row: Record<string, unknown>) =>
  Object.values(row)
    .map((v) => (v === null ? "NULL" : String(v)))
    .join("|");

/** The four entity tables: ClickHouse's `_current` views row for row against PostgreSQL. */
export async function compareEntities(pool: Pool, clickhouse: ClickHouseClient) {
  for (const [table, cols] of Object.entries(ENTITY_COLUMNS)) {
    const pgCols = cols.pg.map((c, i) => `${c} AS c${i}`).join(", ");
    const chCols = cols.ch.map((c, i) => `${c} AS c${i}`).join(", ");
    const pg = (await pool.query(`SELECT ${pgCols} FROM ${table} ORDER BY id`)).rows.map(line);
    const rs = await clickhouse.query({
      query: `SELECT ${chCols} FROM ${table}_current ORDER BY id`,
      format: "JSONEachRow",
    });
    const ch = ((await rs.json()) as Record<string, unknown>[]).map(line);
    expect({ table, rows: ch.length }).toEqual({ table, rows: pg.length });
    expect(ch).toEqual(pg);
  }
}

export const TRUTH_CAMPAIGNS = `
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

export const TRUTH_DAILY = `
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
export function expectSame(actual: Row[], expected: Row[], what: string) {
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

/** Every KPI and report the API serves against the same figures computed from PostgreSQL. */
export async function compareEverything(w: TruthWorld) {
  if (w.clickhouse) await compareEntities(w.pool, w.clickhouse);
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

/**
 * Polls until every KPI equals PostgreSQL's; resolves with the milliseconds it took, or throws
 * the last difference after `timeoutMs`.
 */
export async function waitForTruth(w: TruthWorld, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last: unknown;
  while (Date.now() - started < timeoutMs) {
    try {
      await compareEverything(w);
      return Date.now() - started;
    } catch (err) {
      last = err;
      await Bun.sleep(200);
    }
  }
  await compareEverything(w).catch((err) => {
    throw new Error(`KPIs still differ from PostgreSQL after ${timeoutMs} ms: ${err}`, { cause: last });
  });
  return Date.now() - started;
}
