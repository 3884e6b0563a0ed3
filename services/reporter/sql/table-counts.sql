-- GET /dashboard/api/pipeline: the rows a ClickHouse reader sees per table (newest version,
-- deletes applied), compared on the page with PostgreSQL's counts.
SELECT
    (SELECT count() FROM advertiser_current) AS advertiser,
    (SELECT count() FROM campaign_current) AS campaign,
    (SELECT count() FROM impressions_current) AS impressions,
    (SELECT count() FROM clicks_current) AS clicks,
    (SELECT count() FROM campaign_bids_current) AS campaign_bids
