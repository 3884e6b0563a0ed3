-- Whether the reports need a full rebuild at start-up: campaigns exist but no report row does, or
-- facts exist but no bucket count does (a database migrated to 0007 keeps its facts and reports;
-- the bucket counts are derived, and the full rebuild fills them), or click counts lack their cost
-- (a database migrated to 0009: the full rebuild prices them).
SELECT
    (SELECT count() FROM campaign_current) AS campaigns,
    (SELECT count() FROM advertiser_campaigns_totals_report FINAL WHERE _deleted = 0) AS reported,
    (SELECT count() FROM (SELECT 1 FROM impressions LIMIT 1)) + (SELECT count() FROM (SELECT 1 FROM clicks LIMIT 1)) AS facts,
    (SELECT count() FROM (SELECT 1 FROM impressions_buckets LIMIT 1)) + (SELECT count() FROM (SELECT 1 FROM clicks_buckets LIMIT 1)) AS counted,
    (SELECT count() FROM (SELECT 1 FROM clicks_buckets FINAL WHERE _deleted = 0 AND cost IS NULL LIMIT 1)) AS unpriced
