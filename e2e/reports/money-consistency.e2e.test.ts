import { afterAll, beforeAll, expect, test } from "bun:test";
import { createPipelineWorld, type PipelineWorld } from "@adpipe/testing";

// One rounding rule (docs/kpis.md, "Money and rounding"): the same campaign's spend, cost,
// budget, planned to date and pacing read the same on every endpoint, in JSON and CSV, and in the
// compatibility view. The campaign is built so every figure needs rounding: clicks at two bids
// (cost differs from spend), a budget and flight whose plan to date is not a whole cent, a daily
// norm that truncation and rounding would tell apart.

let w: PipelineWorld;
let id: number;
let advertiserId: number;
const DAY = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
const NOW = new Date(`${DAY}T07:13:00Z`);

beforeAll(async () => {
  w = await createPipelineWorld({ today: () => DAY, now: () => NOW });
  const a = await w.pool.query<{ id: number }>(
    "INSERT INTO advertiser (name) VALUES ('Rounder') RETURNING id",
  );
  advertiserId = Number(a.rows[0]?.id); // bigint comes back as text
  const c = await w.pool.query<{ id: number }>(
    `INSERT INTO campaign (name, bid, budget, start_date, end_date, advertiser_id)
     VALUES ('odd cents', 0.37, 27.55, $1::date - 1, $1::date + 5, $2) RETURNING id`,
    [DAY, advertiserId],
  );
  id = Number(c.rows[0]?.id);
  const clicks = (n: number) =>
    w.pool.query(
      "INSERT INTO clicks (campaign_id, created_at) SELECT $1, now() FROM generate_series(1, $2)",
      [id, n],
    );
  await w.pool.query(
    "INSERT INTO impressions (campaign_id, created_at) SELECT $1, now() FROM generate_series(1, 700)",
    [id],
  );
  await clicks(7);
  // A later bid: the new clicks cost it, the earlier ones keep 0.37 (spend re-prices them all).
  await w.pool.query("UPDATE campaign SET bid = 0.41 WHERE id = $1", [id]);
  await clicks(5);
  await w.idle();
});
afterAll(async () => {
  await w?.close();
});

const csvRow = async (path: string, match: (row: Record<string, string>) => boolean) => {
  const res = await w.app.request(path);
  expect(res.headers.get("content-type")).toContain("text/csv");
  const [head, ...lines] = (await res.text()).trim().split("\r\n");
  const columns = (head ?? "").split(",");
  const rows = lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [columns[i], v])));
  const row = rows.find(match);
  if (!row) throw new Error(`${path}: no matching row`);
  return row;
};
type Row = Record<string, unknown>;
const pick = (row: Row, keys: string[]) => Object.fromEntries(keys.map((k) => [k, Number(row[k])]));

test("a campaign's spend, cost, budget, plan to date and pacing are the same everywhere", async () => {
  const keys = ["spend", "cost", "budget", "planned_to_date", "pacing"];
  const one = (await w.get(`/kpis/campaigns/${id}`)) as Row;
  const expected = pick(one, keys);
  // The figures themselves: 7 x 0.37 + 5 x 0.41 = 4.64 at the bids in force; 12 x 0.41 = 4.92 re-priced.
  expect(expected.cost).toBe(4.64);
  expect(expected.spend).toBe(4.92);
  // 1 day 7 h 13 min of a 7-day flight: 27.55 x 112,380 / 604,800 = 5.1191... -> 5.12.
  expect(expected.planned_to_date).toBe(5.12);
  expect(expected.pacing).toBe(4.64 / 5.12);

  const byId = (rows: unknown) => (rows as Row[]).find((r) => r.campaign_id === id) as Row;
  const byCsvId = (r: Record<string, string>) => r.campaign_id === String(id);
  const seen: Record<string, Record<string, number>> = {
    "/kpis/campaigns": pick(byId(await w.get("/kpis/campaigns")), keys),
    "/kpis/campaigns csv": pick(await csvRow("/kpis/campaigns?format=csv", byCsvId), keys),
    "/kpis/campaigns/:id csv": pick(await csvRow(`/kpis/campaigns/${id}?format=csv`, byCsvId), keys),
    "/kpis/pacing": pick(byId(await w.get("/kpis/pacing")), keys),
    "/kpis/pacing csv": pick(await csvRow("/kpis/pacing?format=csv", byCsvId), keys),
    "totals report": pick(byId(await w.get("/reports/advertiser_campaigns_totals_report")), keys),
    "totals report csv": pick(
      await csvRow("/reports/advertiser_campaigns_totals_report?format=csv", byCsvId),
      keys,
    ),
  };
  // The advertiser has this one campaign: its roll-ups are the campaign's figures.
  const adv = (rows: unknown) => (rows as Row[]).find((r) => r.advertiser_id === advertiserId) as Row;
  seen["/kpis/advertisers"] = pick(adv(await w.get("/kpis/advertisers")), keys);
  seen["/kpis/pacing/advertisers"] = pick(adv(await w.get("/kpis/pacing/advertisers")), keys);
  seen["/kpis/pacing/advertisers csv"] = pick(
    await csvRow("/kpis/pacing/advertisers?format=csv", (r) => r.advertiser_id === String(advertiserId)),
    keys,
  );
  const top = byId(await w.get("/kpis/top?by=spend&limit=1000"));
  seen["/kpis/top"] = pick(top, ["spend", "cost", "budget", "pacing"]);
  for (const [where, figures] of Object.entries(seen))
    expect({ where, ...figures }).toEqual({ where, ...pick(expected, Object.keys(figures)) });

  // The compatibility view keeps the original's names: budget used is the re-priced spend; the
  // daily norm is the API's to the cent (27.55 / 7 = 3.9357 -> 3.94, truncation would say 3.93).
  const rs = await w.chs.client.query({
    query: `SELECT campaign_budget_used, campaign_budget, campaign_budget_daily_norm, campaign_cpm
            FROM ${w.chs.database}_seed.advertiser_campaigns_totals_report WHERE rtm_campaign_id = {id:Int32}`,
    query_params: { id },
    format: "JSONEachRow",
  });
  const [view] = (await rs.json()) as Row[];
  expect(
    pick(view as Row, [
      "campaign_budget_used",
      "campaign_budget",
      "campaign_budget_daily_norm",
      "campaign_cpm",
    ]),
  ).toEqual({
    campaign_budget_used: expected.spend as number,
    campaign_budget: expected.budget as number,
    campaign_budget_daily_norm: Number(one.daily_norm),
    campaign_cpm: Number(one.cpm),
  });
  expect(one.daily_norm).toBe(3.94);
  // cpm: 4.92 x 1000 / 700 = 7.0285... -> 7.03.
  expect(one.cpm).toBe(7.03);
});
