-- GET /kpis/advertisers: campaign totals summed per advertiser. planned_to_date is each
-- campaign's budget x days_elapsed / days_total (0 for a zero-day campaign); pacing is spend
-- against it, 0 when nothing was planned yet.
SELECT
    advertiser_id,
    advertiser_name,
    campaigns,
    total_impressions AS impressions,
    total_clicks AS clicks,
    if(total_impressions = 0, 0., total_clicks / total_impressions) AS ctr,
    toFloat64(total_spend) AS spend,
    toFloat64(total_budget) AS budget,
    toFloat64(total_budget - total_spend) AS budget_remaining,
    planned AS planned_to_date,
    if(planned = 0, 0., toFloat64(total_spend) / planned) AS pacing
FROM (
    SELECT
        assumeNotNull(advertiser_id) AS advertiser_id,
        any(advertiser_name) AS advertiser_name,
        count() AS campaigns,
        sum(impressions) AS total_impressions,
        sum(clicks) AS total_clicks,
        sum(spend) AS total_spend,
        sum(budget) AS total_budget,
        sum(if(days_total = 0, 0., toFloat64(budget) * days_elapsed / days_total)) AS planned
    FROM advertiser_campaigns_totals_report FINAL
    WHERE _deleted = 0 AND advertiser_id IS NOT NULL
      AND ({advertiser_id:Nullable(Int32)} IS NULL OR advertiser_id = {advertiser_id:Nullable(Int32)})
    GROUP BY advertiser_id
)
ORDER BY advertiser_id
