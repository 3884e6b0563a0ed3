-- GET /kpis/advertisers: campaign totals summed per advertiser, at {now} (fragment _pacing.sql).
-- planned_to_date is the sum of its campaigns' cent-rounded plans (0 for a campaign not begun);
-- pacing is their cost against it, 0 when nothing was planned yet.
WITH {{pacing}}
SELECT
    advertiser_id,
    advertiser_name,
    campaigns,
    total_impressions AS impressions,
    total_clicks AS clicks,
    if(total_impressions = 0, 0., total_clicks / total_impressions) AS ctr,
    toFloat64(total_spend) AS spend,
    toFloat64(total_cost) AS cost,
    toFloat64(total_budget) AS budget,
    toFloat64(total_budget - total_spend) AS budget_remaining,
    toFloat64(planned_sum) AS planned_to_date,
    if(planned_sum = 0, 0., toFloat64(total_cost) / toFloat64(planned_sum)) AS pacing
FROM (
    SELECT
        assumeNotNull(advertiser_id) AS advertiser_id,
        any(advertiser_name) AS advertiser_name,
        count() AS campaigns,
        sum(impressions) AS total_impressions,
        sum(clicks) AS total_clicks,
        sum(toDecimal128(spend, 2)) AS total_spend,
        sum(c) AS total_cost,
        sum(b) AS total_budget,
        sum(planned) AS planned_sum
    FROM paced
    WHERE advertiser_id IS NOT NULL
    GROUP BY advertiser_id
)
ORDER BY advertiser_id
