-- The daily report's impressions and clicks per (campaign, day), as readers see them.
SELECT campaign_id, toString(date) AS day, impressions, clicks
FROM advertiser_campaigns_daily_ctr_report FINAL
WHERE length({campaigns:Array(Int64)}) = 0 OR has({campaigns:Array(Int64)}, campaign_id)
