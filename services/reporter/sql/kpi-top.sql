-- GET /kpis/top: campaigns ranked by ctr or spend (ties by campaign id).
SELECT
    campaign_id, campaign_name, advertiser_id, advertiser_name,
    impressions, clicks, ctr, toFloat64(spend) AS spend, toFloat64(budget) AS budget, pacing
FROM advertiser_campaigns_totals_report FINAL
WHERE _deleted = 0
ORDER BY if({by:String} = 'ctr', ctr, toFloat64(spend)) DESC, campaign_id
LIMIT {limit:UInt32}
