-- The totals report's impressions and clicks per campaign, as readers see them.
SELECT campaign_id, impressions, clicks
FROM advertiser_campaigns_totals_report FINAL
WHERE length({campaigns:Array(Int32)}) = 0 OR has({campaigns:Array(Int32)}, campaign_id)
