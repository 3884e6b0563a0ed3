import type { PoolClient } from "@adpipe/shared/pg";
import { createAdvertisers } from "./generate.ts";
import { letters } from "./names.ts";

// The realistic simulation: what an ad server's delivery looks like, written set-based (one
// statement per step, whatever the number of campaigns). Flights started in the past and end in
// the future; each campaign's cumulative spend follows budget × its share of the flight, weighted
// by a daily traffic curve, times a delivery factor of its own (some campaigns deliver ahead,
// some behind); delivery stops at the budget and outside the flight. Spend = bid × clicks (the
// KPI definition in docs/kpis.md), so "at the budget" means at most floor(budget / bid) clicks.
//
// Per-campaign constants come from a hash of the campaign id, so they survive restarts without a
// schema change: CTR 0.5–3 %, delivery factor 0.6–1.25.

/**
 * The highest bid campaign `c` ever had (its history, PostgreSQL migration 0010; its bid when the
 * history is empty): what a past click cost at most, so delivery and budget cuts keep the cost of
 * the clicks (at the bid in force when they happened) within budget, not only the re-priced spend.
 */
const MAX_BID_SQL = "greatest(c.bid, (SELECT max(h.bid) FROM campaign_bids h WHERE h.campaign_id = c.id))";

/** A timestamp PostgreSQL reads as `timestamp without time zone`, in UTC like the reports. */
export const sqlTimestamp = (at: Date) => at.toISOString().replace("T", " ").replace("Z", "");

// hashint4 of an int4: the same draw as with 32-bit ids for every id below 69 million, and a
// 64-bit id folded into int4's range above that.
const unit = (salt: number) => `((hashint4(((c.id * 31 + ${salt}) % 2147483648)::int) & 1023) / 1023.0)`;
/** Click-through rate of campaign `c`, a fraction: 0.005–0.03. */
export const CTR_SQL = `(0.005 + 0.025 * ${unit(1)})`;
/** How far ahead (> 1) or behind (< 1) of an even plan the ad server delivers campaign `c`. */
export const FACTOR_SQL = `(0.6 + 0.65 * ${unit(2)})`;

/**
 * Share of a day's traffic that has arrived by fraction `x` of the day (UTC): the integral of
 * 1 + 0.6·sin(2π(x − 0.583)), quiet around 08:00, busiest around 20:00; 0 at midnight, 1 at the
 * next. The SQL below is the same formula.
 */
export function dailyShare(x: number): number {
  const a = 0.6;
  const phase = 0.583;
  return x + (a / (2 * Math.PI)) * (Math.cos(-2 * Math.PI * phase) - Math.cos(2 * Math.PI * (x - phase)));
}
const DAILY_SHARE_SQL = (x: string) =>
  `(${x} + (0.6 / (2 * pi())) * (cos(-2 * pi() * 0.583) - cos(2 * pi() * (${x} - 0.583))))`;

/**
 * New campaigns for `advertiserIds`, `perAdvertiser` each: bid 0.30–2.50, a budget worth
 * 400–4,000 clicks, a flight that started 1–4 days before `now` and ends 3–20 days after it. The
 * budget sets the traffic: at 400–4,000 clicks a campaign delivers several thousand impressions a
 * day, so a dozen campaigns show new rows every 5 s step even in the quietest hour (about 08:00
 * UTC, 0.4 x the mean); at a tenth of that a step at 06:00 delivered half an impression. The short
 * history keeps the first batch to a few hundred thousand impressions.
 */
export async function createRealisticCampaigns(
  db: PoolClient,
  advertiserIds: number[],
  perAdvertiser: number,
  now: Date,
): Promise<number[]> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO campaign (name, bid, budget, start_date, end_date, advertiser_id, updated_at)
     SELECT 'Campaign_' || a.id || '_' || n, b.bid,
            round(b.bid * (400 + floor(random() * 3600))::numeric, 2),
            ($3::timestamp)::date - (1 + floor(random() * 4))::int,
            ($3::timestamp)::date + (3 + floor(random() * 18))::int,
            a.id, $3::timestamp
     FROM unnest($1::bigint[]) WITH ORDINALITY AS a(id, ord), generate_series(1, $2::int) AS n,
          LATERAL (SELECT round((0.3 + random() * 2.2 + 0 * n)::numeric, 2) AS bid) AS b
     ORDER BY a.ord, n
     RETURNING id`,
    [advertiserIds, perAdvertiser, sqlTimestamp(now)],
  );
  return rows.map((r) => Number(r.id));
}

/**
 * Delivers every campaign in flight up to `now`: impressions until its planned spend so far is
 * reached, clicks on them at its CTR, timestamps spread between `since` (or its flight start
 * when null: a new campaign's history) and `now`, clicks 1–120 s after their impression but
 * never after `now`. Campaigns ahead of plan, out of budget or out of flight get nothing.
 * `campaignIds` limits it to those campaigns (a launch fills in their history).
 */
export async function deliver(
  db: PoolClient,
  now: Date,
  since: Date | null,
  campaignIds: number[] | null = null,
): Promise<{ impressions: number; clicks: number; campaigns: number }> {
  const share = `(((($1::timestamp)::date - c.start_date) + ${DAILY_SHARE_SQL("(extract(epoch from $1::timestamp - ($1::timestamp)::date) / 86400.0)")}) / (c.end_date - c.start_date + 1))`;
  const { rows } = await db.query<{ impressions: number; clicks: number; campaigns: number }>(
    `WITH plan AS (
       SELECT c.id, c.bid, c.budget, ${CTR_SQL} AS ctr,
              greatest(c.start_date::timestamp, coalesce($2::timestamp, c.start_date::timestamp)) AS from_ts,
              least(c.budget, c.budget * ${FACTOR_SQL} * ${share}) / c.bid AS clicks_planned,
              (SELECT count(*) FROM clicks k WHERE k.campaign_id = c.id) AS clicks_done,
              ${MAX_BID_SQL} AS max_bid,
              (SELECT count(*) FROM impressions i WHERE i.campaign_id = c.id) AS imps_done
       FROM campaign c
       WHERE c.start_date <= ($1::timestamp)::date AND c.end_date >= ($1::timestamp)::date AND c.bid > 0 AND c.budget > 0
         AND ($3::bigint[] IS NULL OR c.id = ANY($3::bigint[]))
     ), due AS (
       SELECT id, from_ts,
              -- Within budget at the bids in force too: every click, past or new, costs at most max_bid.
              greatest(least(floor(clicks_planned) - clicks_done,
                             floor((budget - clicks_done * max_bid) / max_bid)), 0)::int AS new_clicks,
              greatest(floor(clicks_planned / ctr) - imps_done, floor(clicks_planned) - clicks_done, 0)::int AS new_imps
       FROM plan
     ), generated AS MATERIALIZED (
       SELECT id AS campaign_id, i, new_clicks,
              from_ts + random() * ($1::timestamp - from_ts) AS created_at
       FROM due, generate_series(1, new_imps) AS i
     ), imps AS (
       INSERT INTO impressions (campaign_id, created_at)
       SELECT campaign_id, created_at FROM generated RETURNING campaign_id
     ), clks AS (
       INSERT INTO clicks (campaign_id, created_at)
       SELECT campaign_id, least(created_at + make_interval(secs => 1 + floor(random() * 120)::int), $1::timestamp)
       FROM generated WHERE i <= new_clicks
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM imps)::int AS impressions, (SELECT count(*) FROM clks)::int AS clicks,
            (SELECT count(DISTINCT campaign_id) FROM imps)::int AS campaigns`,
    [sqlTimestamp(now), since ? sqlTimestamp(since) : null, campaignIds],
  );
  return rows[0] ?? { impressions: 0, clicks: 0, campaigns: 0 };
}

/** Campaigns in flight on `now` that still have budget for a click. */
export async function countDeliverable(db: PoolClient, now: Date): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM campaign c
     WHERE c.start_date <= ($1::timestamp)::date AND c.end_date >= ($1::timestamp)::date AND c.bid > 0
       AND c.bid * ((SELECT count(*) FROM clicks k WHERE k.campaign_id = c.id) + 1) <= c.budget`,
    [sqlTimestamp(now)],
  );
  return rows[0]?.n ?? 0;
}

/**
 * What an ad-ops team does now and then: one campaign in flight gets a new bid (±20 %) or budget
 * (−10 % to +30 %). Neither ever puts a campaign over its budget: a bid rises at most to what the
 * budget pays for its clicks plus one, a budget falls at most to its spend plus one click.
 */
export async function adjustCampaign(
  db: PoolClient,
  now: Date,
  what: "bid" | "budget",
  factor: number,
): Promise<{ campaign_id: number; bid: string; budget: string } | undefined> {
  const set =
    what === "bid"
      ? "bid = greatest(0.01, least(round(c.bid * $2::numeric, 2), floor(c.budget / (s.clicks + 1) * 100) / 100))"
      : `budget = greatest(round(c.budget * $2::numeric, 2), ${MAX_BID_SQL} * (s.clicks + 1))`;
  const { rows } = await db.query<{ campaign_id: string; bid: string; budget: string }>(
    `WITH pick AS (
       SELECT c.id, (SELECT count(*) FROM clicks k WHERE k.campaign_id = c.id) AS clicks
       FROM campaign c WHERE c.start_date <= ($1::timestamp)::date AND c.end_date >= ($1::timestamp)::date AND c.bid > 0
       ORDER BY random() LIMIT 1
     )
     UPDATE campaign c SET ${set}, updated_at = $1::timestamp
     FROM pick s WHERE c.id = s.id
     RETURNING c.id AS campaign_id, c.bid, c.budget`,
    [sqlTimestamp(now), String(factor)],
  );
  return rows[0] && { ...rows[0], campaign_id: Number(rows[0].campaign_id) };
}

/** New advertisers with `campaigns` campaigns each, and their delivery history up to `now`. */
export async function launchAdvertisers(db: PoolClient, advertisers: number, campaigns: number, now: Date) {
  const advertiserIds = await createAdvertisers(db, advertisers);
  // Named after their id (Advertiser A is id 1, AA id 27): the original's names restart at A in
  // every call, and a platform that grows step by step would show several "Advertiser A".
  await db.query(
    `UPDATE advertiser SET name = x.name FROM unnest($1::bigint[], $2::text[]) AS x(id, name) WHERE advertiser.id = x.id`,
    [advertiserIds, advertiserIds.map((id) => `Advertiser ${letters(id)}`)],
  );
  const campaignIds = await createRealisticCampaigns(db, advertiserIds, campaigns, now);
  const { impressions, clicks } = await deliver(db, now, null, campaignIds);
  return { advertiserIds, campaignIds, impressions, clicks };
}
