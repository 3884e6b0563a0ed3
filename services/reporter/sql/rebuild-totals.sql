-- advertiser_campaigns_totals_report for the touched campaigns, every KPI as docs/kpis.md
-- defines it, for report_date (the UTC day of the rebuild). It runs beside the daily tables'
-- rewrite, not after it: a campaign's count is its daily rows on the days this rebuild does not
-- rewrite (current: nothing changed there), plus the bucket counts (recounted earlier in the same
-- rebuild) on the days it rewrites (`*_day_*` keys, every day of `all_day_campaigns`, every day
-- with rewrite_all = 1, a full rebuild) and of its facts without created_at (they count in
-- totals but on no day). A keyed rebuild reads the campaign's days and the bucket rows of the days
-- it rewrites, not its facts, so it does not grow with history; and every report of a rebuild is
-- written in one round after the recount.
-- The campaign's name, advertiser, bid, budget and dates are its advertiser_campaigns row (the
-- dimension, rewritten earlier in the same rebuild for every changed campaign or advertiser, so
-- current). spend is the original's clicks x current bid; cost the clicks at the bid in force
-- when they happened (their daily rows' and undated buckets' cost). Money stays Decimal; a
-- division of money is rounded once, half away from zero, to the cent (the one rounding rule:
-- docs/kpis.md, "Money and rounding"). A campaign that no longer exists (no live dimension
-- row) becomes a tombstone.
INSERT INTO advertiser_campaigns_totals_report
    (campaign_id, campaign_name, advertiser_id, advertiser_name, bid, budget, start_date, end_date,
     impressions, clicks, ctr, spend, cost, budget_remaining, budget_used_pct, budget_status,
     days_total, days_elapsed, days_remaining, daily_norm, daily_used, pacing, cpm, cpc,
     period_status, report_date, _version, _deleted)
WITH {{touched_campaigns}},
campaigns AS (
    SELECT campaign_id AS id, campaign_name AS name, advertiser_id, advertiser_name, bid, budget,
           start_date, end_date, 1 AS found
    FROM advertiser_campaigns FINAL
    WHERE _deleted = 0 AND ({full:UInt8} = 1 OR campaign_id IN {campaigns:Array(Int64)})
),
imp AS (
    SELECT campaign_id, sum(n) AS n FROM (
        -- Days this rebuild does not rewrite: their daily rows are current.
        SELECT campaign_id, impressions AS n FROM advertiser_campaigns_impressions FINAL
        WHERE _deleted = 0 AND {rewrite_all:UInt8} = 0
          AND ({full:UInt8} = 1 OR campaign_id IN {campaigns:Array(Int64)})
          AND campaign_id NOT IN {all_day_campaigns:Array(Int64)}
          AND (campaign_id, date) NOT IN arrayZip({imp_day_campaigns:Array(Int64)}, {imp_day_dates:Array(Date32)})
        UNION ALL
        -- Days it rewrites, and facts without a day: the bucket counts recounted before it.
        SELECT campaign_id, n FROM impressions_buckets FINAL
        WHERE _deleted = 0
          AND ({full:UInt8} = 1 OR campaign_id IN {campaigns:Array(Int64)})
          AND (date IS NULL OR {rewrite_all:UInt8} = 1 OR campaign_id IN {all_day_campaigns:Array(Int64)}
               OR (date >= {imp_min_date:Date32} AND date <= {imp_max_date:Date32}
                   AND (campaign_id, assumeNotNull(date))
                       IN arrayZip({imp_day_campaigns:Array(Int64)}, {imp_day_dates:Array(Date32)})))
    ) GROUP BY campaign_id
),
clk AS (
    SELECT campaign_id, sum(n) AS n, sum(cost) AS cost FROM (
        SELECT campaign_id, clicks AS n, cost FROM advertiser_campaigns_clicks FINAL
        WHERE _deleted = 0 AND {rewrite_all:UInt8} = 0
          AND ({full:UInt8} = 1 OR campaign_id IN {campaigns:Array(Int64)})
          AND campaign_id NOT IN {all_day_campaigns:Array(Int64)}
          AND (campaign_id, date) NOT IN arrayZip({clk_day_campaigns:Array(Int64)}, {clk_day_dates:Array(Date32)})
        UNION ALL
        SELECT campaign_id, n, toDecimal128(ifNull(cost, 0), 2) AS cost FROM clicks_buckets FINAL
        WHERE _deleted = 0
          AND ({full:UInt8} = 1 OR campaign_id IN {campaigns:Array(Int64)})
          AND (date IS NULL OR {rewrite_all:UInt8} = 1 OR campaign_id IN {all_day_campaigns:Array(Int64)}
               OR (date >= {clk_min_date:Date32} AND date <= {clk_max_date:Date32}
                   AND (campaign_id, assumeNotNull(date))
                       IN arrayZip({clk_day_campaigns:Array(Int64)}, {clk_day_dates:Array(Date32)})))
    ) GROUP BY campaign_id
),
base AS (
    SELECT
        t.campaign_id AS campaign_id,
        c.name AS campaign_name,
        c.advertiser_id AS advertiser_id,
        c.advertiser_name AS advertiser_name,
        c.bid AS bid,
        c.budget AS budget,
        c.start_date AS start_date,
        c.end_date AS end_date,
        i.n AS impressions,
        k.n AS clicks,
        c.found AS found,
        toDecimal128(k.n, 0) * c.bid AS spend,
        toDecimal128(k.cost, 2) AS cost,
        if(c.start_date IS NULL OR c.end_date IS NULL OR c.end_date < c.start_date, 0,
           toUInt32(dateDiff('day', assumeNotNull(c.start_date), assumeNotNull(c.end_date)) + 1)) AS days_total,
        {report_date:Date32} AS rd
    FROM touched AS t
    LEFT JOIN campaigns AS c ON c.id = t.campaign_id
    LEFT JOIN imp AS i ON i.campaign_id = t.campaign_id
    LEFT JOIN clk AS k ON k.campaign_id = t.campaign_id
    SETTINGS join_use_nulls = 0
),
periods AS (
    SELECT *,
        if(days_total = 0, toUInt32(0),
           toUInt32(greatest(0, least(toInt64(days_total), dateDiff('day', assumeNotNull(start_date), rd) + 1)))) AS days_elapsed
    FROM base
)
SELECT
    campaign_id,
    campaign_name,
    advertiser_id,
    advertiser_name,
    bid,
    budget,
    start_date,
    end_date,
    impressions,
    clicks,
    if(impressions = 0, 0., clicks / impressions),
    spend,
    cost,
    budget - spend,
    if(budget = 0, 0., toFloat64(spend) / toFloat64(budget) * 100),
    multiIf(spend >= budget, 'exhausted', spend * 10 >= budget * 8, 'warning', 'ok'),
    days_total,
    days_elapsed,
    days_total - days_elapsed,
    if(days_total = 0, toDecimal128(0, 2), toDecimal128(round(toDecimal128(budget, 12) / days_total, 2), 2)),
    if(days_elapsed = 0, toDecimal128(0, 2), toDecimal128(round(toDecimal128(spend, 12) / days_elapsed, 2), 2)),
    if(days_total = 0 OR days_elapsed = 0 OR budget = 0, 0.,
       toFloat64(spend) * days_total / (toFloat64(budget) * days_elapsed)),
    if(impressions = 0, toDecimal128(0, 2), toDecimal128(round(toDecimal128(spend, 12) * 1000 / impressions, 2), 2)),
    if(clicks = 0, toDecimal128(0, 2), toDecimal128(round(toDecimal128(spend, 12) / clicks, 2), 2)),
    multiIf(start_date IS NULL OR end_date IS NULL, 'unscheduled',
            end_date < start_date, 'invalid',
            rd < start_date, 'scheduled',
            rd <= end_date, 'active',
            'ended'),
    rd,
    {version:UInt64},
    found = 0
FROM periods
