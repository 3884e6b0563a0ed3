-- The original Airflow design's five ClickHouse tables, as views with its table names, column
-- names and types, in the database {database}_seed: a query written for the original tables runs
-- unchanged against {database}_seed and reads adpipe's exact reports (FINAL, deletes applied), so
-- it is as fresh as the reporter's last rebuild. Where the original's definition was a bug the
-- view carries the corrected value under the original name (README, "Compatibility views").
-- A value the original stored as NULL in a non-Nullable column is that type's default (0, '',
-- 1970-01-01), as ClickHouse stores it (input_format_null_as_default). DateTime columns are
-- DateTime('UTC'): PostgreSQL's timestamps are UTC wall-clock times, shown as such on any server.
-- The rtm_*_gmt_created / rtm_delta columns read the fact tables (max created_at per campaign or
-- day): exact, but they cost a scan of impressions and clicks per query.

CREATE DATABASE IF NOT EXISTS {database}_seed;

CREATE OR REPLACE VIEW {database}_seed.advertiser_campaigns AS
WITH
imp AS (
    SELECT assumeNotNull(campaign_id) AS campaign_id, max(created_at) AS last_at
    FROM {database}.impressions_current WHERE campaign_id IS NOT NULL GROUP BY campaign_id
),
clk AS (
    SELECT assumeNotNull(campaign_id) AS campaign_id, max(created_at) AS last_at
    FROM {database}.clicks_current WHERE campaign_id IS NOT NULL GROUP BY campaign_id
),
toDateTime64(0, 6, 'UTC') AS epoch
SELECT
    ifNull(t.advertiser_name, '') AS advertiser_name,
    t.campaign_name AS campaign_name,
    toFloat64(t.bid) AS campaign_bid,
    toFloat64(t.budget) AS campaign_budget,
    toInt32(t.impressions) AS campaign_impressions_count_total,
    toInt32(t.clicks) AS campaign_clicks_count_total,
    toDateTime(ifNull(toDateTime64(t.start_date, 6, 'UTC'), epoch), 'UTC') AS campaign_start_date,
    toDateTime(ifNull(toDateTime64(t.end_date, 6, 'UTC'), epoch), 'UTC') AS campaign_end_date,
    toInt32(if(a.found = 1, a.id, 0)) AS rtm_advertiser_id,
    toDateTime(ifNull(a.created_at, epoch), 'UTC') AS rtm_advertiser_gmt_created,
    toDateTime(ifNull(a.updated_at, epoch), 'UTC') AS rtm_advertiser_gmt_modified,
    t.campaign_id AS rtm_campaign_id,
    toDateTime(ifNull(c.created_at, epoch), 'UTC') AS rtm_campaign_gmt_created,
    toDateTime(ifNull(c.updated_at, epoch), 'UTC') AS rtm_campaign_modified,
    toDateTime(ifNull(i.last_at, epoch), 'UTC') AS rtm_impressions_gmt_created,
    toDateTime(ifNull(k.last_at, epoch), 'UTC') AS rtm_clicks_gmt_created,
    toDateTime(greatest(
        ifNull(a.updated_at, epoch),
        ifNull(c.updated_at, epoch),
        ifNull(i.last_at, epoch),
        ifNull(k.last_at, epoch)), 'UTC') AS rtm_delta
FROM (SELECT * FROM {database}.advertiser_campaigns_totals_report FINAL WHERE _deleted = 0) AS t
LEFT JOIN (SELECT id, created_at, updated_at FROM {database}.campaign_current) AS c ON c.id = t.campaign_id
LEFT JOIN (SELECT id, created_at, updated_at, 1 AS found FROM {database}.advertiser_current) AS a ON a.id = t.advertiser_id
LEFT JOIN imp AS i ON i.campaign_id = t.campaign_id
LEFT JOIN clk AS k ON k.campaign_id = t.campaign_id;

CREATE OR REPLACE VIEW {database}_seed.advertiser_campaigns_impressions AS
SELECT
    toInt32(r.impressions) AS campaign_impressions_count_daily,
    toDate(r.date) AS campaign_impressions_date,
    toInt32(ifNull(r.advertiser_id, 0)) AS rtm_advertiser_id,
    r.campaign_id AS rtm_campaign_id,
    toDateTime(ifNull(l.last_at, toDateTime64(0, 6, 'UTC')), 'UTC') AS rtm_delta
FROM (SELECT * FROM {database}.advertiser_campaigns_impressions FINAL WHERE _deleted = 0) AS r
LEFT JOIN (
    SELECT assumeNotNull(campaign_id) AS campaign_id, toDate32(assumeNotNull(created_at)) AS date, max(created_at) AS last_at
    FROM {database}.impressions_current
    WHERE campaign_id IS NOT NULL AND created_at IS NOT NULL
    GROUP BY campaign_id, date
) AS l ON l.campaign_id = r.campaign_id AND l.date = r.date;

CREATE OR REPLACE VIEW {database}_seed.advertiser_campaigns_clicks AS
SELECT
    toInt32(r.clicks) AS campaign_clicks_count_daily,
    toDate(r.date) AS campaign_clicks_date,
    toInt32(ifNull(r.advertiser_id, 0)) AS rtm_advertiser_id,
    r.campaign_id AS rtm_campaign_id,
    toDateTime(ifNull(l.last_at, toDateTime64(0, 6, 'UTC')), 'UTC') AS rtm_delta
FROM (SELECT * FROM {database}.advertiser_campaigns_clicks FINAL WHERE _deleted = 0) AS r
LEFT JOIN (
    SELECT assumeNotNull(campaign_id) AS campaign_id, toDate32(assumeNotNull(created_at)) AS date, max(created_at) AS last_at
    FROM {database}.clicks_current
    WHERE campaign_id IS NOT NULL AND created_at IS NOT NULL
    GROUP BY campaign_id, date
) AS l ON l.campaign_id = r.campaign_id AND l.date = r.date;

-- Money stays Decimal until the last step, so statuses compare exact cents; daily norm and
-- daily used round half away from zero to the cent, as the original's ROUND(x, 2) meant.
CREATE OR REPLACE VIEW {database}_seed.advertiser_campaigns_totals_report AS
SELECT
    ifNull(advertiser_name, '') AS advertiser_name,
    campaign_name,
    toFloat64(bid) AS campaign_bid,
    toFloat64(bids_max) AS campaign_bids_max,
    toInt32(bids_max - clicks) AS campaign_bids_remaining,
    toFloat64(budget) AS campaign_budget,
    toFloat64(spend) AS campaign_budget_used,
    multiIf(spend > budget, 'exceeded', spend = 0, 'unused', spend < budget, 'unspent', 'spent') AS campaign_budget_status,
    toFloat64(norm) AS campaign_budget_daily_norm,
    toFloat64(used) AS campaign_budget_daily_used,
    multiIf(norm > used, 'below_norm', norm < used, 'above_norm', 'at_norm') AS campaign_budget_daily_status,
    toInt32(impressions) AS campaign_impressions_count_total,
    toInt32(clicks) AS campaign_clicks_count_total,
    if(impressions = 0, 0., clicks / impressions * 100) AS campaign_ctr,
    toFloat64(cpm) AS campaign_cpm,
    toDate(ifNull(start_date, toDate32(0))) AS campaign_start_date,
    toDate(ifNull(end_date, toDate32(0))) AS campaign_end_date,
    toInt32(days_total) AS campaign_period_days,
    toInt32(days_elapsed) AS campaign_period_days_elapsed,
    toInt32(days_remaining) AS campaign_days_remaining,
    if(period_status = 'active', 'ongoing', toString(period_status)) AS campaign_period_status,
    toInt32(ifNull(advertiser_id, 0)) AS rtm_advertiser_id,
    campaign_id AS rtm_campaign_id,
    toDateTime(intDiv(_version, 1000000), 'UTC') AS rtm_timestamp_datetime
FROM (
    SELECT *,
        if(bid = 0, toDecimal128(0, 2), floor(toDecimal128(budget, 2) / bid)) AS bids_max,
        if(days_total = 0, toDecimal128(0, 2), toDecimal128(round(toDecimal128(budget, 6) / days_total, 2), 2)) AS norm,
        if(days_elapsed = 0, toDecimal128(0, 2), toDecimal128(round(toDecimal128(spend, 6) / days_elapsed, 2), 2)) AS used
    FROM {database}.advertiser_campaigns_totals_report FINAL
    WHERE _deleted = 0
);

-- Days with impressions only (the original joined clicks onto impression days); campaign_day
-- numbers them per campaign, 1 = the first such day; CTR in percent, rounded half away from zero
-- to 2 decimals on exact integers.
CREATE OR REPLACE VIEW {database}_seed.advertiser_campaigns_daily_ctr_report AS
SELECT
    ifNull(n.advertiser_name, '') AS advertiser_name,
    ifNull(n.campaign_name, '') AS campaign_name,
    toUInt64(row_number() OVER (PARTITION BY d.campaign_id ORDER BY d.date)) AS campaign_day,
    toDate(d.date) AS campaign_impressions_date,
    toInt32(d.impressions) AS campaign_impressions_count_daily,
    toInt32(d.clicks) AS campaign_clicks_count_daily,
    intDiv(d.clicks * 20000 + d.impressions, d.impressions * 2) / 100 AS campaign_ctr_daily,
    toInt32(ifNull(d.advertiser_id, 0)) AS rtm_advertiser_id,
    d.campaign_id AS rtm_campaign_id
FROM (
    SELECT * FROM {database}.advertiser_campaigns_daily_ctr_report FINAL WHERE _deleted = 0 AND impressions > 0
) AS d
LEFT JOIN (
    SELECT campaign_id, campaign_name, advertiser_name FROM {database}.advertiser_campaigns FINAL WHERE _deleted = 0
) AS n ON n.campaign_id = d.campaign_id;
