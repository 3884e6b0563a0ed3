-- The totals report's impressions and clicks per campaign, as readers see them.
SELECT campaign_id, impressions, clicks
FROM advertiser_campaigns_totals_report FINAL
WHERE length({campaigns:Array(Int64)}) = 0 OR has({campaigns:Array(Int64)}, campaign_id)
