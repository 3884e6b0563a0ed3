-- GET /kpis/top: campaigns ranked by ctr or spend (ties by campaign id); pacing at {now}.
WITH {{pacing}}
SELECT
    campaign_id, campaign_name, advertiser_id, advertiser_name,
    impressions, clicks, ctr, toFloat64(spend) AS spend, toFloat64(cost) AS cost,
    toFloat64(budget) AS budget, pacing_now AS pacing
FROM paced
ORDER BY if({by:String} = 'ctr', ctr, toFloat64(spend)) DESC, campaign_id
LIMIT {limit:UInt32}
