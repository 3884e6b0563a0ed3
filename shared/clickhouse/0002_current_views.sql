-- What PostgreSQL holds now: the newest version of each id (FINAL), without rows whose newest
-- version is a delete (FINAL drops them for ReplacingMergeTree(_version, _deleted)), without rows
-- older than the table's latest TRUNCATE. Same column names as PostgreSQL.
-- FINAL rather than GROUP BY id + argMax: measured by `bun run bench:clickhouse`, and FINAL
-- keeps the views plain SELECTs that push filters (campaign_id, created_at) into the scan.

CREATE OR REPLACE VIEW {database}.advertiser_current AS
SELECT id, name, updated_at, created_at
FROM {database}.advertiser FINAL
WHERE _version > (SELECT max(_version) FROM {database}.truncations WHERE table_name = 'advertiser');

CREATE OR REPLACE VIEW {database}.campaign_current AS
SELECT id, name, bid, budget, start_date, end_date, advertiser_id, updated_at, created_at
FROM {database}.campaign FINAL
WHERE _version > (SELECT max(_version) FROM {database}.truncations WHERE table_name = 'campaign');

CREATE OR REPLACE VIEW {database}.impressions_current AS
SELECT id, campaign_id, created_at
FROM {database}.impressions FINAL
WHERE _version > (SELECT max(_version) FROM {database}.truncations WHERE table_name = 'impressions');

CREATE OR REPLACE VIEW {database}.clicks_current AS
SELECT id, campaign_id, created_at
FROM {database}.clicks FINAL
WHERE _version > (SELECT max(_version) FROM {database}.truncations WHERE table_name = 'clicks');
