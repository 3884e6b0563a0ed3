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
  /** The report date the reporter was given (`today`); default: the real UTC date. */
  reportDate?: string;
}

// Each entity table read on both sides as canonical text, so PostgreSQL and ClickHouse compare exactly.
export const TS = {
  pg: (c: string) => `to_char(${c}, 'YYYY-MM-DD HH24:MI:SS.US')`,
  ch: (c: string) => `formatDateTime(${c}, '%Y-%m-%d %H:%i:%S.%f')`,
};
export type EntityColumns = Record<string, { pg: string[]; ch: string[] }>;
export const ENTITY_COLUMNS = {
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
} satisfies EntityColumns;
const line = (row: Record<string, unknown>) =>
  Object.values(row)
    .map((v) => (v === null ? "NULL" : String(v)))
    .join("|");

/** One entity table in PostgreSQL, each row as canonical text, ordered by id. */
export async function postgresEntityRows(
  pool: Pool,
  table: string,
  columns: EntityColumns = ENTITY_COLUMNS,
): Promise<string[]> {
  const cols = columns[table]?.pg.map((c, i) => `${c} AS c${i}`).join(", ");
  return (await pool.query(`SELECT ${cols} FROM ${table} ORDER BY id`)).rows.map(line);
}

/** One entity table's ClickHouse `_current` view, each row as canonical text, ordered by id. */
export async function clickhouseEntityRows(
  clickhouse: ClickHouseClient,
  table: string,
  columns: EntityColumns = ENTITY_COLUMNS,
): Promise<string[]> {
  const cols = columns[table]?.ch.map((c, i) => `${c} AS c${i}`).join(", ");
  const rs = await clickhouse.query({
    query: `SELECT ${cols} FROM ${table}_current ORDER BY id`,
    format: "JSONEachRow",
  });
  return ((await rs.json()) as Record<string, unknown>[]).map(line);
}

/** The four entity tables: ClickHouse's `_current` views row for row against PostgreSQL. */
export async function compareEntities(
  pool: Pool,
  clickhouse: ClickHouseClient,
  columns: EntityColumns = ENTITY_COLUMNS,
) {
  for (const table of Object.keys(columns)) {
    const pg = await postgresEntityRows(pool, table, columns);
    const ch = await clickhouseEntityRows(clickhouse, table, columns);
    expect({ table, rows: ch.length }).toEqual({ table, rows: pg.length });
    expect(ch).toEqual(pg);
  }
}

/**
 * A campaign's flight as two CTEs over `source` (bid, budget, start_date, end_date, the report date
 * `rd` and the campaign's click count in column `clicks`): `d` adds spend and days_total, `e` days_elapsed.
 */
export const flightCtes = (source: string, clicks: string) => `d AS (
  SELECT *, ${clicks} * bid AS spend,
         CASE WHEN start_date IS NULL OR end_date IS NULL OR end_date < start_date THEN 0
              ELSE end_date - start_date + 1 END AS days_total
  FROM ${source}
), e AS (
  SELECT *, CASE WHEN days_total = 0 THEN 0
                 ELSE greatest(0, least(days_total, rd - start_date + 1)) END AS days_elapsed
  FROM d
)`;

export const TRUTH_CAMPAIGNS = `
WITH base AS (
  SELECT c.id AS campaign_id, c.name AS campaign_name, c.advertiser_id, a.name AS advertiser_name,
         c.bid, c.budget, c.start_date, c.end_date,
         (SELECT count(*) FROM impressions i WHERE i.campaign_id = c.id) AS impressions,
         (SELECT count(*) FROM clicks k WHERE k.campaign_id = c.id) AS clicks,
         $1::date AS rd
  FROM campaign c LEFT JOIN advertiser a ON a.id = c.advertiser_id
), ${flightCtes("base", "clicks")}
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

// Pacing (docs/reporter.md): planned to date, projection to the end of the flight at the run
// rate so far, delivery flag at ±10 % of the budget; same date $1 as TRUTH_CAMPAIGNS.
export const TRUTH_PACING_CTE = `
WITH base AS (
  SELECT c.id AS campaign_id, c.name AS campaign_name, c.advertiser_id, a.name AS advertiser_name,
         c.budget, c.start_date, c.end_date,
         (SELECT count(*) FROM clicks k WHERE k.campaign_id = c.id) * c.bid AS spend,
         CASE WHEN c.start_date IS NULL OR c.end_date IS NULL OR c.end_date < c.start_date THEN 0
              ELSE c.end_date - c.start_date + 1 END AS days_total
  FROM campaign c LEFT JOIN advertiser a ON a.id = c.advertiser_id
), e AS (
  SELECT *, CASE WHEN days_total = 0 THEN 0
                 ELSE greatest(0, least(days_total, $1::date - start_date + 1)) END AS days_elapsed
  FROM base
), p AS (
  SELECT *,
    CASE WHEN days_total = 0 THEN 0 ELSE trunc(budget * days_elapsed / days_total, 2) END AS planned,
    CASE WHEN days_elapsed = 0 THEN spend ELSE trunc(spend * days_total / days_elapsed, 2) END AS projected,
    CASE WHEN days_elapsed = 0 THEN NULL
         WHEN spend * days_total > 1.1 * budget * days_elapsed THEN 'over'
         WHEN spend * days_total < 0.9 * budget * days_elapsed THEN 'under'
         ELSE 'on_track' END AS delivery
  FROM e
)`;

export const TRUTH_PACING = `${TRUTH_PACING_CTE}
SELECT campaign_id, campaign_name, advertiser_id, advertiser_name,
  start_date::text AS start_date, end_date::text AS end_date,
  days_total, days_elapsed, days_total - days_elapsed AS days_remaining,
  budget::float8 AS budget, spend::float8 AS spend, planned::float8 AS planned_to_date,
  CASE WHEN days_total = 0 OR days_elapsed = 0 OR budget = 0 THEN 0
       ELSE spend::float8 * days_total / (budget::float8 * days_elapsed) END AS pacing,
  (CASE WHEN days_elapsed = 0 THEN 0 ELSE trunc(spend / days_elapsed, 2) END)::float8 AS run_rate,
  projected::float8 AS projected_spend,
  CASE WHEN budget = 0 THEN 0
       ELSE (CASE WHEN days_elapsed = 0 THEN spend::float8 ELSE spend::float8 * days_total / days_elapsed END)
            / budget::float8 * 100 END AS projected_delivery_pct,
  delivery, $1::text AS report_date
FROM p ORDER BY campaign_id`;

export const TRUTH_PACING_ADVERTISERS = `${TRUTH_PACING_CTE}
, g AS (
  SELECT advertiser_id, min(advertiser_name) AS advertiser_name, count(*)::int AS campaigns,
    count(*) FILTER (WHERE days_elapsed > 0)::int AS paced_campaigns,
    coalesce(sum(budget) FILTER (WHERE days_elapsed > 0), 0) AS b,
    coalesce(sum(spend) FILTER (WHERE days_elapsed > 0), 0) AS s,
    sum(planned) AS pl,
    coalesce(sum(projected) FILTER (WHERE days_elapsed > 0), 0) AS proj,
    count(*) FILTER (WHERE delivery = 'under')::int AS campaigns_under,
    count(*) FILTER (WHERE delivery = 'on_track')::int AS campaigns_on_track,
    count(*) FILTER (WHERE delivery = 'over')::int AS campaigns_over
  FROM p WHERE advertiser_id IS NOT NULL GROUP BY advertiser_id
)
SELECT advertiser_id, advertiser_name, campaigns, paced_campaigns, b::float8 AS budget, s::float8 AS spend,
  pl::float8 AS planned_to_date, CASE WHEN pl = 0 THEN 0 ELSE s::float8 / pl::float8 END AS pacing,
  proj::float8 AS projected_spend, CASE WHEN b = 0 THEN 0 ELSE proj::float8 / b::float8 * 100 END AS projected_delivery_pct,
  CASE WHEN paced_campaigns = 0 THEN NULL WHEN proj > 1.1 * b THEN 'over' WHEN proj < 0.9 * b THEN 'under'
       ELSE 'on_track' END AS delivery,
  campaigns_under, campaigns_on_track, campaigns_over
FROM g ORDER BY advertiser_id`;

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

export type Row = Record<string, unknown>;
const MONEY = new Set([
  "bid",
  "budget",
  "spend",
  "budget_remaining",
  "daily_norm",
  "daily_used",
  "cpm",
  "cpc",
  "run_rate",
  "projected_spend",
]);
const FLOAT = new Set(["ctr", "pacing", "budget_used_pct", "planned_to_date", "projected_delivery_pct"]);

/** Whether one served value equals the truth: integers and text exactly, money to the cent, ratios to 1e-9 relative. */
export function sameValue(key: string, got: unknown, value: unknown): boolean {
  if (MONEY.has(key)) return Math.round(Number(got) * 100) === Math.round(Number(value) * 100);
  if (FLOAT.has(key))
    return Math.abs(Number(got) - Number(value)) <= 1e-9 * Math.max(1, Math.abs(Number(value)));
  return Bun.deepEquals(got, value);
}

/** The fields of `actual` that differ from `expected` (by `sameValue`). */
export const rowDifferences = (actual: Row, expected: Row): string[] =>
  Object.entries(expected)
    .filter(([key, value]) => !sameValue(key, actual[key], value))
    .map(([key, value]) => `${key}: ${JSON.stringify(actual[key])} != ${JSON.stringify(value)}`);

/** Integers and text exactly, money to the cent, ratios to 1e-9 relative. */
export function expectSame(actual: Row[], expected: Row[], what: string) {
  expect(actual.length, `${what}: row count`).toBe(expected.length);
  expected.forEach((exp, i) => {
    const act = actual[i] as Row;
    for (const [key, value] of Object.entries(exp)) {
      const label = `${what}[${i}].${key} (${JSON.stringify(exp).slice(0, 80)})`;
      const got = act[key];
      // Shown as the two values when they differ (money to the cent, ratios to 1e-9 relative).
      if (!sameValue(key, got, value)) expect(got, label).toEqual(value as never);
    }
  });
}

/** Every KPI and report the API serves against the same figures computed from PostgreSQL. */
export async function compareEverything(w: TruthWorld) {
  const { campaigns, daily, pacing, pacingAdvertisers } = await compareServedInBulk(w);
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

  // One advertiser's campaigns summed per day: one request (what the dashboard asks).
  const advertiserIds = [...new Set(daily.map((d) => d.advertiser_id).filter((a) => a !== null))];
  for (const advertiserId of advertiserIds) {
    const sums = new Map<string, { impressions: number; clicks: number }>();
    for (const d of daily.filter((r) => r.advertiser_id === advertiserId)) {
      const s = sums.get(d.date as string) ?? { impressions: 0, clicks: 0 };
      s.impressions += d.impressions as number;
      s.clicks += d.clicks as number;
      sums.set(d.date as string, s);
    }
    const expected = [...sums.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([date, s]) => ({ date, ...s, ctr: s.impressions === 0 ? 0 : s.clicks / s.impressions }));
    expectSame(
      (await w.get(`/kpis/daily?advertiser_id=${advertiserId}`)) as Row[],
      expected,
      `daily, advertiser ${advertiserId}`,
    );
  }

  for (const a of pacingAdvertisers)
    expectSame(
      (await w.get(`/kpis/pacing?advertiser_id=${a.advertiser_id}`)) as Row[],
      pacing.filter((c) => c.advertiser_id === a.advertiser_id),
      `/kpis/pacing?advertiser_id=${a.advertiser_id}`,
    );

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
  return {
    campaigns: campaigns.length,
    days: daily.length,
    flags: new Set(pacing.map((p) => p.delivery)),
  };
}

/**
 * The reports and KPIs served in bulk (every campaign, every day, pacing, advertisers) against
 * PostgreSQL, without compareEverything's requests per campaign: for thousands of campaigns,
 * where one comparison must take a second, not minutes.
 */
export async function compareBulk(w: TruthWorld) {
  const { campaigns, daily } = await compareServedInBulk(w);
  return { campaigns: campaigns.length, days: daily.length };
}

/**
 * What compareBulk checks, returning PostgreSQL's rows so compareEverything can go on to the
 * per-campaign and per-advertiser requests without reading them again.
 */
async function compareServedInBulk(w: TruthWorld) {
  if (w.clickhouse) await compareEntities(w.pool, w.clickhouse);
  const reportDate = w.reportDate ?? new Date().toISOString().slice(0, 10);
  const campaigns = (await w.pool.query(TRUTH_CAMPAIGNS, [reportDate])).rows as Row[];
  const daily = (await w.pool.query(TRUTH_DAILY)).rows as Row[];
  expectSame((await w.get("/kpis/campaigns")) as Row[], campaigns, "/kpis/campaigns");
  expectSame(
    (await w.get("/reports/advertiser_campaigns_totals_report")) as Row[],
    campaigns,
    "totals report",
  );
  expectSame(
    (await w.get("/reports/advertiser_campaigns_daily_ctr_report")) as Row[],
    daily,
    "daily ctr report",
  );
  const pacing = (await w.pool.query(TRUTH_PACING, [reportDate])).rows as Row[];
  expectSame((await w.get("/kpis/pacing")) as Row[], pacing, "/kpis/pacing");
  const pacingAdvertisers = (await w.pool.query(TRUTH_PACING_ADVERTISERS, [reportDate])).rows as Row[];
  expectSame(
    (await w.get("/kpis/pacing/advertisers")) as Row[],
    pacingAdvertisers,
    "/kpis/pacing/advertisers",
  );
  return { campaigns, daily, pacing, pacingAdvertisers };
}

/**
 * Polls until every KPI equals PostgreSQL's; resolves with the milliseconds it took, or throws
 * the last difference after `timeoutMs`.
 */
export async function waitForTruth(
  w: TruthWorld,
  timeoutMs: number,
  compare: (w: TruthWorld) => Promise<unknown> = compareEverything,
): Promise<number> {
  const started = Date.now();
  let last: unknown;
  while (Date.now() - started < timeoutMs) {
    try {
      await compare(w);
      return Date.now() - started;
    } catch (err) {
      last = err;
      await Bun.sleep(200);
    }
  }
  await compare(w).catch((err) => {
    throw new Error(`KPIs still differ from PostgreSQL after ${timeoutMs} ms: ${err}`, { cause: last });
  });
  return Date.now() - started;
}
