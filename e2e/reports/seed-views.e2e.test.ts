import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createOperations, type Operations } from "@adpipe/generator";
import { createPipelineWorld, type PipelineWorld } from "@adpipe/testing";
import { flightCtes } from "@adpipe/testing/truth";

// The original design's five tables as views in <database>_seed (shared/clickhouse/0006): queried
// with the original column lists, every value must equal the same figure computed straight from
// PostgreSQL by the independent queries below, with the corrections of docs/compatibility.md applied.

let w: PipelineWorld;
let ops: Operations;
let seed: string;
const REPORT_DATE = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
const started = new Date(Math.floor(Date.now() / 1000) * 1000);

beforeAll(async () => {
  w = await createPipelineWorld({ today: () => REPORT_DATE });
  ops = createOperations(w.pool);
  seed = `${w.chs.database}_seed`;
});
afterAll(async () => {
  await w?.close();
});

/** The original DAGs' CREATE TABLE column lists and types (DateTime read in UTC); the ids are Int64 since 0011_ids_64_bit. */
const ORIGINAL: Record<string, [string, string][]> = {
  advertiser_campaigns: [
    ["advertiser_name", "String"],
    ["campaign_name", "String"],
    ["campaign_bid", "Float64"],
    ["campaign_budget", "Float64"],
    ["campaign_impressions_count_total", "Int32"],
    ["campaign_clicks_count_total", "Int32"],
    ["campaign_start_date", "DateTime('UTC')"],
    ["campaign_end_date", "DateTime('UTC')"],
    ["rtm_advertiser_id", "Int64"],
    ["rtm_advertiser_gmt_created", "DateTime('UTC')"],
    ["rtm_advertiser_gmt_modified", "DateTime('UTC')"],
    ["rtm_campaign_id", "Int64"],
    ["rtm_campaign_gmt_created", "DateTime('UTC')"],
    ["rtm_campaign_modified", "DateTime('UTC')"],
    ["rtm_impressions_gmt_created", "DateTime('UTC')"],
    ["rtm_clicks_gmt_created", "DateTime('UTC')"],
    ["rtm_delta", "DateTime('UTC')"],
  ],
  advertiser_campaigns_impressions: [
    ["campaign_impressions_count_daily", "Int32"],
    ["campaign_impressions_date", "Date"],
    ["rtm_advertiser_id", "Int64"],
    ["rtm_campaign_id", "Int64"],
    ["rtm_delta", "DateTime('UTC')"],
  ],
  advertiser_campaigns_clicks: [
    ["campaign_clicks_count_daily", "Int32"],
    ["campaign_clicks_date", "Date"],
    ["rtm_advertiser_id", "Int64"],
    ["rtm_campaign_id", "Int64"],
    ["rtm_delta", "DateTime('UTC')"],
  ],
  advertiser_campaigns_totals_report: [
    ["advertiser_name", "String"],
    ["campaign_name", "String"],
    ["campaign_bid", "Float64"],
    ["campaign_bids_max", "Float64"],
    ["campaign_bids_remaining", "Int32"],
    ["campaign_budget", "Float64"],
    ["campaign_budget_used", "Float64"],
    ["campaign_budget_status", "String"],
    ["campaign_budget_daily_norm", "Float64"],
    ["campaign_budget_daily_used", "Float64"],
    ["campaign_budget_daily_status", "String"],
    ["campaign_impressions_count_total", "Int32"],
    ["campaign_clicks_count_total", "Int32"],
    ["campaign_ctr", "Float64"],
    ["campaign_cpm", "Float64"],
    ["campaign_start_date", "Date"],
    ["campaign_end_date", "Date"],
    ["campaign_period_days", "Int32"],
    ["campaign_period_days_elapsed", "Int32"],
    ["campaign_days_remaining", "Int32"],
    ["campaign_period_status", "String"],
    ["rtm_advertiser_id", "Int64"],
    ["rtm_campaign_id", "Int64"],
    ["rtm_timestamp_datetime", "DateTime('UTC')"],
  ],
  advertiser_campaigns_daily_ctr_report: [
    ["advertiser_name", "String"],
    ["campaign_name", "String"],
    ["campaign_day", "UInt64"],
    ["campaign_impressions_date", "Date"],
    ["campaign_impressions_count_daily", "Int32"],
    ["campaign_clicks_count_daily", "Int32"],
    ["campaign_ctr_daily", "Float64"],
    ["rtm_advertiser_id", "Int64"],
    ["rtm_campaign_id", "Int64"],
  ],
};

const ORDER: Record<string, string> = {
  advertiser_campaigns: "rtm_campaign_id",
  advertiser_campaigns_impressions: "rtm_campaign_id, campaign_impressions_date",
  advertiser_campaigns_clicks: "rtm_campaign_id, campaign_clicks_date",
  advertiser_campaigns_totals_report: "rtm_campaign_id",
  advertiser_campaigns_daily_ctr_report: "rtm_campaign_id, campaign_day",
};

/** A PostgreSQL timestamp as ClickHouse prints a DateTime: whole seconds, NULL as the epoch. */
const ts = (x: string) =>
  `to_char(coalesce(date_trunc('second', ${x}), 'epoch'::timestamp), 'YYYY-MM-DD HH24:MI:SS')`;

/** advertiser_campaigns_impressions / _clicks: one fact table's rows per (campaign, day). */
const dailyCounts = (fact: "impressions" | "clicks") => `
SELECT count(*)::int AS campaign_${fact}_count_daily, f.created_at::date::text AS campaign_${fact}_date,
  coalesce(c.advertiser_id, 0) AS rtm_advertiser_id, f.campaign_id AS rtm_campaign_id,
  ${ts("max(f.created_at)")} AS rtm_delta
FROM ${fact} f LEFT JOIN campaign c ON c.id = f.campaign_id
WHERE f.campaign_id IS NOT NULL AND f.created_at IS NOT NULL
GROUP BY f.campaign_id, f.created_at::date, c.advertiser_id
ORDER BY 4, 2`;

const PG: Record<string, string> = {
  advertiser_campaigns: `
WITH f AS (
  SELECT c.*, (SELECT count(*) FROM impressions i WHERE i.campaign_id = c.id) AS imps,
         (SELECT count(*) FROM clicks k WHERE k.campaign_id = c.id) AS clks,
         (SELECT max(created_at) FROM impressions i WHERE i.campaign_id = c.id) AS imax,
         (SELECT max(created_at) FROM clicks k WHERE k.campaign_id = c.id) AS kmax
  FROM campaign c
)
SELECT coalesce(a.name, '') AS advertiser_name, f.name AS campaign_name, f.bid::float8 AS campaign_bid,
  f.budget::float8 AS campaign_budget, f.imps::int AS campaign_impressions_count_total,
  f.clks::int AS campaign_clicks_count_total,
  ${ts("f.start_date::timestamp")} AS campaign_start_date, ${ts("f.end_date::timestamp")} AS campaign_end_date,
  coalesce(a.id, 0) AS rtm_advertiser_id, ${ts("a.created_at")} AS rtm_advertiser_gmt_created,
  ${ts("a.updated_at")} AS rtm_advertiser_gmt_modified, f.id AS rtm_campaign_id,
  ${ts("f.created_at")} AS rtm_campaign_gmt_created, ${ts("f.updated_at")} AS rtm_campaign_modified,
  ${ts("f.imax")} AS rtm_impressions_gmt_created, ${ts("f.kmax")} AS rtm_clicks_gmt_created,
  ${ts("greatest(a.updated_at, f.updated_at, f.imax, f.kmax)")} AS rtm_delta
FROM f LEFT JOIN advertiser a ON a.id = f.advertiser_id
ORDER BY f.id`,
  advertiser_campaigns_impressions: dailyCounts("impressions"),
  advertiser_campaigns_clicks: dailyCounts("clicks"),
  advertiser_campaigns_totals_report: `
WITH b AS (
  SELECT c.*, a.name AS aname, $1::date AS rd,
         (SELECT count(*) FROM impressions i WHERE i.campaign_id = c.id) AS imps,
         (SELECT count(*) FROM clicks k WHERE k.campaign_id = c.id) AS clks
  FROM campaign c LEFT JOIN advertiser a ON a.id = c.advertiser_id
), ${flightCtes("b", "clks")}, f AS (
  SELECT *, CASE WHEN bid = 0 THEN 0 ELSE floor(budget / bid) END AS bids_max,
         CASE WHEN days_total = 0 THEN 0 ELSE round(budget / days_total, 2) END AS norm,
         CASE WHEN days_elapsed = 0 THEN 0 ELSE round(spend / days_elapsed, 2) END AS used
  FROM e
)
SELECT coalesce(aname, '') AS advertiser_name, name AS campaign_name, bid::float8 AS campaign_bid,
  bids_max::float8 AS campaign_bids_max, (bids_max - clks)::int AS campaign_bids_remaining,
  budget::float8 AS campaign_budget, spend::float8 AS campaign_budget_used,
  CASE WHEN spend > budget THEN 'exceeded' WHEN spend = 0 THEN 'unused' WHEN spend < budget THEN 'unspent'
       ELSE 'spent' END AS campaign_budget_status,
  norm::float8 AS campaign_budget_daily_norm, used::float8 AS campaign_budget_daily_used,
  CASE WHEN norm > used THEN 'below_norm' WHEN norm < used THEN 'above_norm' ELSE 'at_norm' END
    AS campaign_budget_daily_status,
  imps::int AS campaign_impressions_count_total, clks::int AS campaign_clicks_count_total,
  CASE WHEN imps = 0 THEN 0 ELSE clks::float8 / imps * 100 END AS campaign_ctr,
  (CASE WHEN imps = 0 THEN 0 ELSE round(spend * 1000 / imps, 2) END)::float8 AS campaign_cpm,
  coalesce(start_date, '1970-01-01')::text AS campaign_start_date,
  coalesce(end_date, '1970-01-01')::text AS campaign_end_date,
  days_total AS campaign_period_days, days_elapsed AS campaign_period_days_elapsed,
  days_total - days_elapsed AS campaign_days_remaining,
  CASE WHEN start_date IS NULL OR end_date IS NULL THEN 'unscheduled' WHEN end_date < start_date THEN 'invalid'
       WHEN rd < start_date THEN 'scheduled' WHEN rd <= end_date THEN 'ongoing' ELSE 'ended' END
    AS campaign_period_status,
  coalesce(advertiser_id, 0) AS rtm_advertiser_id, id AS rtm_campaign_id
FROM f ORDER BY id`,
  advertiser_campaigns_daily_ctr_report: `
WITH i AS (SELECT campaign_id, created_at::date AS d, count(*) AS n FROM impressions
           WHERE campaign_id IS NOT NULL AND created_at IS NOT NULL GROUP BY 1, 2),
     k AS (SELECT campaign_id, created_at::date AS d, count(*) AS n FROM clicks
           WHERE campaign_id IS NOT NULL AND created_at IS NOT NULL GROUP BY 1, 2)
SELECT coalesce(a.name, '') AS advertiser_name, coalesce(c.name, '') AS campaign_name,
  row_number() OVER (PARTITION BY i.campaign_id ORDER BY i.d)::int AS campaign_day,
  i.d::text AS campaign_impressions_date, i.n::int AS campaign_impressions_count_daily,
  coalesce(k.n, 0)::int AS campaign_clicks_count_daily,
  round(coalesce(k.n, 0) * 100.0 / i.n, 2)::float8 AS campaign_ctr_daily,
  coalesce(c.advertiser_id, 0) AS rtm_advertiser_id, i.campaign_id AS rtm_campaign_id
FROM i LEFT JOIN k ON k.campaign_id = i.campaign_id AND k.d = i.d
LEFT JOIN campaign c ON c.id = i.campaign_id LEFT JOIN advertiser a ON a.id = c.advertiser_id
ORDER BY i.campaign_id, i.d`,
};

type Row = Record<string, unknown>;
const MONEY = new Set([
  "campaign_bid",
  "campaign_budget",
  "campaign_budget_used",
  "campaign_budget_daily_norm",
  "campaign_budget_daily_used",
  "campaign_cpm",
]);
const FLOAT = new Set(["campaign_ctr", "campaign_ctr_daily"]);

async function selectOriginal(table: string): Promise<Row[]> {
  const columns = (ORIGINAL[table] as [string, string][]).map(([c]) => c).join(", ");
  const rs = await w.chs.client.query({
    query: `SELECT ${columns} FROM ${seed}.${table} ORDER BY ${ORDER[table]}`,
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return (await rs.json()) as Row[];
}

async function compareTable(table: string) {
  const expected = (await w.pool.query(PG[table] as string, table.includes("totals") ? [REPORT_DATE] : []))
    .rows as Row[];
  const actual = await selectOriginal(table);
  expect(actual.length, `${table}: rows`).toBe(expected.length);
  expected.forEach((exp, i) => {
    const act = actual[i] as Row;
    for (const [key, value] of Object.entries(exp)) {
      const label = `${table}[${i}].${key} (campaign ${exp.rtm_campaign_id})`;
      if (MONEY.has(key))
        expect(Math.round(Number(act[key]) * 100), label).toBe(Math.round(Number(value) * 100));
      else if (FLOAT.has(key))
        expect(Math.abs(Number(act[key]) - Number(value)), label).toBeLessThanOrEqual(
          1e-9 * Math.max(1, Math.abs(Number(value))),
        );
      // Ids are bigint, which node-postgres returns as text.
      else if (key.endsWith("_id")) expect(String(act[key]), label).toBe(String(value));
      else expect(act[key], label).toEqual(value as never);
    }
  });
  if (table === "advertiser_campaigns_totals_report")
    for (const row of actual) {
      const at = new Date(`${String(row.rtm_timestamp_datetime).replace(" ", "T")}Z`).getTime();
      expect(at).toBeGreaterThanOrEqual(started.getTime());
      expect(at).toBeLessThanOrEqual(Date.now());
    }
  return actual;
}

async function compareAll() {
  const out: Record<string, Row[]> = {};
  for (const table of Object.keys(ORIGINAL)) out[table] = await compareTable(table);
  return out;
}

describe("compatibility views (<database>_seed)", () => {
  test("each view has the original's columns, in order, with its types", async () => {
    for (const [table, columns] of Object.entries(ORIGINAL)) {
      const rs = await w.chs.client.query({
        query: `DESCRIBE TABLE ${seed}.${table}`,
        format: "JSONEachRow",
      });
      const described = ((await rs.json()) as { name: string; type: string }[]).map((c) => [c.name, c.type]);
      expect(described, table).toEqual(columns);
    }
  });

  test("every column equals PostgreSQL's figure, corrections applied, through updates and deletes", async () => {
    const batch = await ops.batch({ advertisers: 2, campaigns: 3, impressions: 200, ctr: 0.1 });
    const [a, b, c, d, ended, other] = batch.campaignIds as [number, number, number, number, number, number];
    const q = (sql: string, params: unknown[] = []) => w.pool.query(sql, params);
    await w.idle();
    await compareAll();

    // Cases the original got wrong: a one-day flight (its period length was 0), a budget spent to
    // the cent, a bid whose budget ratio is not exact in floating point, no dates, a flight that
    // ended, rows without created_at.
    await q("UPDATE campaign SET start_date = $1::date, end_date = $1::date WHERE id = $2", [REPORT_DATE, a]);
    await q(
      "UPDATE campaign SET budget = (SELECT count(*) FROM clicks WHERE campaign_id = $1) * bid WHERE id = $1",
      [b],
    );
    await q("UPDATE campaign SET bid = 0.10, budget = 0.30 WHERE id = $1", [c]);
    await q("UPDATE campaign SET start_date = NULL WHERE id = $1", [d]);
    await q("UPDATE campaign SET start_date = $1::date - 9, end_date = $1::date - 3 WHERE id = $2", [
      REPORT_DATE,
      ended,
    ]);
    await q("INSERT INTO impressions (campaign_id, created_at) VALUES ($1, NULL)", [a]);
    await q("INSERT INTO clicks (campaign_id, created_at) VALUES ($1, NULL)", [a]);
    await ops.impressions(b, 25);
    await ops.clicks(a, 0.2);
    await q("UPDATE advertiser SET name = name || ' renamed' WHERE id = $1", [batch.advertiserIds[0]]);
    await q(
      "DELETE FROM clicks WHERE id IN (SELECT id FROM clicks WHERE campaign_id = $1 ORDER BY id LIMIT 2)",
      [other],
    );
    await w.idle();
    const views = await compareAll();

    const totals = views.advertiser_campaigns_totals_report as Row[];
    const of = (id: number | undefined) => totals.find((r) => r.rtm_campaign_id === id) as Row;
    expect(of(a).campaign_period_days).toBe(1);
    expect(of(b).campaign_budget_status).toBe("spent");
    expect(of(c).campaign_bids_max).toBe(3);
    expect(of(d).campaign_period_status).toBe("unscheduled");
    expect(of(ended).campaign_period_status).toBe("ended");
    expect(of(a).campaign_period_status).toBe("ongoing");
  }, 90_000);
});
