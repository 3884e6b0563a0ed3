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
  /** The clock the KPI reads pace by (the world's); default: the real one. */
  now?: () => Date;
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
  campaign_bids: {
    pg: ["id", "campaign_id", "bid::text", TS.pg("valid_from")],
    ch: ["id", "campaign_id", "toDecimalString(bid, 2)", TS.ch("valid_from")],
  },
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

/** The replicated tables: ClickHouse's `_current` views row for row against PostgreSQL. */
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

/**
 * A click's price: the bid in force at its created_at in the campaign's history (the latest row at
 * or before it, ties to the larger id); before the first row the first bid, without a time the
 * last; with no history at all the campaign's bid. `k` is the click, `c` its campaign.
 */
const CLICK_PRICE = `coalesce(
  CASE WHEN k.created_at IS NULL
       THEN (SELECT h.bid FROM campaign_bids h WHERE h.campaign_id = k.campaign_id ORDER BY h.valid_from DESC, h.id DESC LIMIT 1)
       ELSE (SELECT h.bid FROM campaign_bids h WHERE h.campaign_id = k.campaign_id AND h.valid_from <= k.created_at
             ORDER BY h.valid_from DESC, h.id DESC LIMIT 1) END,
  (SELECT h.bid FROM campaign_bids h WHERE h.campaign_id = k.campaign_id ORDER BY h.valid_from ASC, h.id DESC LIMIT 1),
  c.bid)`;

/**
 * Every campaign's figures as CTE \`p\`: $1 the report date (days_elapsed and what the stored totals
 * derive from it), $2 the clock the KPIs pace by (a UTC timestamp): elapsed seconds of the flight,
 * planned, run rate, projection and delivery on cost, money rounded half away from zero to the cent
 * (docs/kpis.md, "Pacing", "Money and rounding"). Counts are one grouped scan per fact table and
 * \`base\` is computed once (MATERIALIZED): inlined, its per-campaign subqueries ran again for each
 * column derived from them, some 25 s on 2,000,000 impressions.
 */
export const TRUTH_FIGURES_CTE = `
WITH i_n AS (
  SELECT campaign_id, count(*) AS n FROM impressions WHERE campaign_id IS NOT NULL GROUP BY campaign_id
), k_n AS (
  SELECT campaign_id, count(*) AS n FROM clicks WHERE campaign_id IS NOT NULL GROUP BY campaign_id
), base AS MATERIALIZED (
  SELECT c.id AS campaign_id, c.name AS campaign_name, c.advertiser_id, a.name AS advertiser_name,
         c.bid, c.budget, c.start_date, c.end_date,
         coalesce(i_n.n, 0) AS impressions,
         coalesce(k_n.n, 0) AS clicks,
         (SELECT coalesce(sum(${CLICK_PRICE}), 0) FROM clicks k WHERE k.campaign_id = c.id) AS cost,
         $1::date AS rd
  FROM campaign c LEFT JOIN advertiser a ON a.id = c.advertiser_id
       LEFT JOIN i_n ON i_n.campaign_id = c.id LEFT JOIN k_n ON k_n.campaign_id = c.id
), ${flightCtes("base", "clicks")}, s AS (
  SELECT *, days_total::bigint * 86400 AS flight_s,
         CASE WHEN days_total = 0 THEN 0
              ELSE greatest(0, least(days_total::bigint * 86400,
                     floor(extract(epoch FROM $2::timestamp - start_date::timestamp))))::bigint END AS elapsed_s
  FROM e
), p AS (
  SELECT *,
    CASE WHEN flight_s = 0 THEN 0 ELSE round(budget * elapsed_s / flight_s, 2) END AS planned,
    CASE WHEN elapsed_s = 0 THEN 0 ELSE round(cost * 86400 / elapsed_s, 2) END AS run_rate,
    CASE WHEN elapsed_s = 0 THEN cost ELSE round(cost * flight_s / elapsed_s, 2) END AS projected,
    CASE WHEN flight_s = 0 OR round(budget * elapsed_s / flight_s, 2) = 0 THEN 0
         ELSE cost::float8 / round(budget * elapsed_s / flight_s, 2)::float8 END AS pacing,
    CASE WHEN elapsed_s = 0 THEN NULL
         WHEN cost * flight_s * 10 > budget * elapsed_s * 11 THEN 'over'
         WHEN cost * flight_s * 10 < budget * elapsed_s * 9 THEN 'under'
         ELSE 'on_track' END AS delivery
  FROM s
)`;

// Ids are bigint, which node-postgres returns as text: read as float8 (exact up to 2^53, MAX_ID) they
// are the numbers the API serves.
export const TRUTH_CAMPAIGNS = `${TRUTH_FIGURES_CTE}
SELECT campaign_id::float8 AS campaign_id, campaign_name, advertiser_id::float8 AS advertiser_id, advertiser_name, bid::float8 AS bid, budget::float8 AS budget,
  start_date::text AS start_date, end_date::text AS end_date, impressions::int AS impressions, clicks::int AS clicks,
  CASE WHEN impressions = 0 THEN 0 ELSE clicks::float8 / impressions END AS ctr,
  spend::float8 AS spend, cost::float8 AS cost, (budget - spend)::float8 AS budget_remaining,
  CASE WHEN budget = 0 THEN 0 ELSE spend::float8 / budget::float8 * 100 END AS budget_used_pct,
  CASE WHEN spend >= budget THEN 'exhausted' WHEN spend >= 0.8 * budget THEN 'warning' ELSE 'ok' END AS budget_status,
  days_total, days_elapsed, days_total - days_elapsed AS days_remaining,
  round(elapsed_s / 86400.0, 4)::float8 AS elapsed_days,
  (CASE WHEN days_total = 0 THEN 0 ELSE round(budget / days_total, 2) END)::float8 AS daily_norm,
  (CASE WHEN days_elapsed = 0 THEN 0 ELSE round(spend / days_elapsed, 2) END)::float8 AS daily_used,
  planned::float8 AS planned_to_date, pacing,
  (CASE WHEN impressions = 0 THEN 0 ELSE round(spend * 1000 / impressions, 2) END)::float8 AS cpm,
  (CASE WHEN clicks = 0 THEN 0 ELSE round(spend / clicks, 2) END)::float8 AS cpc,
  CASE WHEN start_date IS NULL OR end_date IS NULL THEN 'unscheduled' WHEN end_date < start_date THEN 'invalid'
       WHEN rd < start_date THEN 'scheduled' WHEN rd <= end_date THEN 'active' ELSE 'ended' END AS period_status,
  rd::text AS report_date
FROM p ORDER BY campaign_id`;

// Pacing (docs/kpis.md): planned to date, projection to the end of the flight at the run
// rate so far, delivery flag at ±10 % of the budget; same $1 and $2 as TRUTH_CAMPAIGNS.
export const TRUTH_PACING = `${TRUTH_FIGURES_CTE}
SELECT campaign_id::float8 AS campaign_id, campaign_name, advertiser_id::float8 AS advertiser_id, advertiser_name,
  start_date::text AS start_date, end_date::text AS end_date,
  days_total, days_elapsed, days_total - days_elapsed AS days_remaining,
  round(elapsed_s / 86400.0, 4)::float8 AS elapsed_days,
  budget::float8 AS budget, spend::float8 AS spend, cost::float8 AS cost, planned::float8 AS planned_to_date,
  pacing, run_rate::float8 AS run_rate, projected::float8 AS projected_spend,
  CASE WHEN budget = 0 THEN 0
       ELSE (CASE WHEN elapsed_s = 0 THEN cost::float8 ELSE cost::float8 * flight_s / elapsed_s END)
            / budget::float8 * 100 END AS projected_delivery_pct,
  delivery, $1::text AS report_date
FROM p ORDER BY campaign_id`;

export const TRUTH_PACING_ADVERTISERS = `${TRUTH_FIGURES_CTE}
, g AS (
  SELECT advertiser_id, min(advertiser_name) AS advertiser_name, count(*)::int AS campaigns,
    count(*) FILTER (WHERE elapsed_s > 0)::int AS paced_campaigns,
    coalesce(sum(budget) FILTER (WHERE elapsed_s > 0), 0) AS b,
    coalesce(sum(spend) FILTER (WHERE elapsed_s > 0), 0) AS sp,
    coalesce(sum(cost) FILTER (WHERE elapsed_s > 0), 0) AS cs,
    sum(planned) AS pl,
    coalesce(sum(projected) FILTER (WHERE elapsed_s > 0), 0) AS proj,
    count(*) FILTER (WHERE delivery = 'under')::int AS campaigns_under,
    count(*) FILTER (WHERE delivery = 'on_track')::int AS campaigns_on_track,
    count(*) FILTER (WHERE delivery = 'over')::int AS campaigns_over
  FROM p WHERE advertiser_id IS NOT NULL GROUP BY advertiser_id
)
SELECT advertiser_id::float8 AS advertiser_id, advertiser_name, campaigns, paced_campaigns, b::float8 AS budget, sp::float8 AS spend,
  cs::float8 AS cost, pl::float8 AS planned_to_date, CASE WHEN pl = 0 THEN 0 ELSE cs::float8 / pl::float8 END AS pacing,
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
SELECT j.campaign_id::float8 AS campaign_id, j.d::text AS date, c.advertiser_id::float8 AS advertiser_id, j.d - c.start_date + 1 AS day_number,
       j.impressions, j.clicks, CASE WHEN j.impressions = 0 THEN 0 ELSE j.clicks::float8 / j.impressions END AS ctr
FROM j LEFT JOIN campaign c ON c.id = j.campaign_id
ORDER BY 1, 2`;

export type Row = Record<string, unknown>;
const MONEY = new Set([
  "bid",
  "budget",
  "spend",
  "cost",
  "planned_to_date",
  "budget_remaining",
  "daily_norm",
  "daily_used",
  "cpm",
  "cpc",
  "run_rate",
  "projected_spend",
]);
const FLOAT = new Set(["ctr", "pacing", "budget_used_pct", "projected_delivery_pct", "elapsed_days"]);

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

  // Per advertiser: sums of its campaigns' exact cents (integers, so the sums are exact), pacing on cost.
  const advertisers = new Map<number, Row & { campaigns: number }>();
  const cents = (x: unknown) => Math.round(Number(x) * 100);
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
        cost: 0,
        budget: 0,
        planned_to_date: 0,
      } as Row & { campaigns: number });
    a.campaigns++;
    for (const k of ["impressions", "clicks"]) a[k] = (a[k] as number) + Number(c[k]);
    for (const k of ["spend", "cost", "budget", "planned_to_date"]) a[k] = (a[k] as number) + cents(c[k]);
    advertisers.set(c.advertiser_id as number, a);
  }
  const advertiserRows = [...advertisers.values()]
    .sort((x, y) => (x.advertiser_id as number) - (y.advertiser_id as number))
    .map((a) => ({
      ...a,
      spend: (a.spend as number) / 100,
      cost: (a.cost as number) / 100,
      budget: (a.budget as number) / 100,
      planned_to_date: (a.planned_to_date as number) / 100,
      ctr: a.impressions === 0 ? 0 : (a.clicks as number) / (a.impressions as number),
      budget_remaining: ((a.budget as number) - (a.spend as number)) / 100,
      pacing: a.planned_to_date === 0 ? 0 : (a.cost as number) / (a.planned_to_date as number),
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
        cost: c.cost,
        pacing: c.pacing,
      }));
    expectSame((await w.get(`/kpis/top?by=${by}&limit=5`)) as Row[], top, `/kpis/top?by=${by}`);
  }
  return {
    campaigns: campaigns.length,
    days: daily.length,
    flags: new Set(pacing.map((p) => p.delivery)),
  };
}

/** The KPIs' clock as a PostgreSQL timestamp in UTC, whole seconds (what the pacing counts). */
const truthClock = (w: TruthWorld) => (w.now?.() ?? new Date()).toISOString().slice(0, 19).replace("T", " ");

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
  const clock = truthClock(w);
  const campaigns = (await w.pool.query(TRUTH_CAMPAIGNS, [reportDate, clock])).rows as Row[];
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
  const pacing = (await w.pool.query(TRUTH_PACING, [reportDate, clock])).rows as Row[];
  expectSame((await w.get("/kpis/pacing")) as Row[], pacing, "/kpis/pacing");
  const pacingAdvertisers = (await w.pool.query(TRUTH_PACING_ADVERTISERS, [reportDate, clock])).rows as Row[];
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
