// What "exact" means for a whole-pipeline test: every entity table's `_current` view holds
// PostgreSQL's rows, and the KPIs the reporter serves equal the same KPIs computed straight from
// PostgreSQL. Differences are collected and returned (empty when exact), so a test can both
// poll for convergence and print what differed.
import type { TestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import type { Pool } from "@adpipe/shared/pg";

type ClickHouseClient = TestClickHouse["client"];

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

/** Differences between PostgreSQL's four tables and ClickHouse's `_current` views. */
export async function entityDifferences(pool: Pool, clickhouse: ClickHouseClient): Promise<string[]> {
  const out: string[] = [];
  for (const [table, cols] of Object.entries(ENTITY_COLUMNS)) {
    const pgRows = (
      await pool.query(
        `SELECT ${cols.pg.map((c, i) => `${c} AS c${i}`).join(", ")} FROM ${table} ORDER BY id`,
      )
    ).rows.map(line);
    const chRows = (
      (await (
        await clickhouse.query({
          query: `SELECT ${cols.ch.map((c, i) => `${c} AS c${i}`).join(", ")} FROM ${table}_current ORDER BY id`,
          format: "JSONEachRow",
        })
      ).json()) as Record<string, unknown>[]
    ).map(line);
    if (pgRows.length !== chRows.length)
      out.push(`${table}: ${chRows.length} rows in ClickHouse, ${pgRows.length} in PostgreSQL`);
    const chSet = new Set(chRows);
    const missing = pgRows.filter((r) => !chSet.has(r));
    if (missing.length > 0)
      out.push(`${table}: ${missing.length} rows differ, e.g. PostgreSQL ${missing[0]}`);
  }
  return out;
}

// Per campaign: what /kpis/campaigns serves, from PostgreSQL (formulas as docs/clickhouse.md).
const CAMPAIGN_KPIS = `
SELECT c.id AS campaign_id, c.name AS campaign_name, c.advertiser_id, a.name AS advertiser_name,
       c.bid::float8 AS bid, c.budget::float8 AS budget,
       (SELECT count(*) FROM impressions i WHERE i.campaign_id = c.id)::int AS impressions,
       (SELECT count(*) FROM clicks k WHERE k.campaign_id = c.id)::int AS clicks,
       ((SELECT count(*) FROM clicks k WHERE k.campaign_id = c.id) * c.bid)::float8 AS spend
FROM campaign c LEFT JOIN advertiser a ON a.id = c.advertiser_id ORDER BY c.id`;

// Per campaign and UTC day: what /kpis/daily?campaign_id serves.
const DAILY_KPIS = `
WITH i AS (SELECT campaign_id, created_at::date AS d, count(*) AS n FROM impressions
           WHERE campaign_id IS NOT NULL AND created_at IS NOT NULL GROUP BY 1, 2),
     k AS (SELECT campaign_id, created_at::date AS d, count(*) AS n FROM clicks
           WHERE campaign_id IS NOT NULL AND created_at IS NOT NULL GROUP BY 1, 2)
SELECT coalesce(i.campaign_id, k.campaign_id) AS campaign_id, coalesce(i.d, k.d)::text AS date,
       coalesce(i.n, 0)::int AS impressions, coalesce(k.n, 0)::int AS clicks
FROM i FULL JOIN k ON i.campaign_id = k.campaign_id AND i.d = k.d ORDER BY 1, 2`;

type Row = Record<string, unknown>;
const MONEY = new Set(["bid", "budget", "spend"]);

function compare(what: string, actual: Row[], expected: Row[], out: string[]) {
  if (actual.length !== expected.length) {
    out.push(`${what}: ${actual.length} rows served, ${expected.length} from PostgreSQL`);
    return;
  }
  expected.forEach((exp, i) => {
    const act = actual[i] ?? {};
    for (const [key, value] of Object.entries(exp)) {
      const got = act[key];
      const same = MONEY.has(key)
        ? Math.round(Number(got) * 100) === Math.round(Number(value) * 100)
        : got === value || (got !== null && value !== null && String(got) === String(value));
      if (!same)
        out.push(`${what}[${i}].${key}: served ${JSON.stringify(got)}, PostgreSQL ${JSON.stringify(value)}`);
    }
  });
}

/** Differences between the reporter's KPI API (`get`) and the same KPIs from PostgreSQL. */
export async function kpiDifferences(pool: Pool, get: (path: string) => Promise<unknown>): Promise<string[]> {
  const out: string[] = [];
  const campaigns = (await pool.query(CAMPAIGN_KPIS)).rows as Row[];
  const daily = (await pool.query(DAILY_KPIS)).rows as Row[];
  compare("/kpis/campaigns", (await get("/kpis/campaigns")) as Row[], campaigns, out);
  for (const c of campaigns) {
    const days = daily.filter((d) => d.campaign_id === c.campaign_id);
    compare(
      `/kpis/daily?campaign_id=${c.campaign_id}`,
      (await get(`/kpis/daily?campaign_id=${c.campaign_id}`)) as Row[],
      days,
      out,
    );
  }
  return out;
}
