-- Every id is 64-bit (issue #30; PostgreSQL migration 0012_ids_64_bit): ids, campaign_id and
-- advertiser_id become Int64 in every table that holds them, and so does the bucket of the fact
-- keys and bucket counts (intDiv(id, 65536) of a 64-bit id needs up to 48 bits).
-- ClickHouse refuses ALTER ... MODIFY COLUMN on a sort-key column from Int32 to Int64 ("not safe
-- because it can change the representation of primary key"), and every one of these tables has an
-- id in its key, so each is copied instead: a new table under <name>_ids64 with the 64-bit types
-- (otherwise the same columns, in the same order, indexes, engine and settings), every row copied
-- (INSERT ... SELECT * without optimize_on_insert: every version and tombstone as it is, none
-- collapsed), then RENAME swaps the names and the
-- old table is dropped. Run it with the services stopped, as `bun start` and compose's `migrate`
-- step do: a row written into an old table during its copy would be left behind (the verifier
-- would find and repair it). The copies need the tables' size again in free disk until the drops.
-- Safe to re-run from the top (the migrator resumes a file that way): a leftover <name>_ids32 is
-- a table whose copy completed (the RENAME came after it); a run that stopped inside the RENAME
-- leaves <name> missing and its complete copy in <name>_ids64, and the next run stops at the
-- INSERT, naming it (rename it back by hand).
-- The materialized views that copy facts into the keyed tables are attached to the table they
-- were created on, not to its name: they are dropped first and created again at the end. Plain
-- views keep the types they were created with (a view over a widened table would cut ids to
-- Int32 silently): every view is created again with the same text. The original design's
-- compatibility views (0006) keep their column names; their id columns become Int64 too.

DROP VIEW IF EXISTS {database}.impressions_keyed_mv;

DROP VIEW IF EXISTS {database}.clicks_keyed_mv;

-- advertiser
DROP TABLE IF EXISTS {database}.advertiser_ids32;

CREATE TABLE IF NOT EXISTS {database}.advertiser_ids64
(
    id Int64,
    name String,
    updated_at Nullable(DateTime64(6, 'UTC')),
    created_at Nullable(DateTime64(6, 'UTC')),
    _version UInt64,
    _xid UInt64,
    _deleted UInt8 DEFAULT 0,
    INDEX xid_idx _xid TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_version, _deleted)
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;

INSERT INTO {database}.advertiser_ids64 SELECT * FROM {database}.advertiser
SETTINGS optimize_on_insert = 0;

RENAME TABLE {database}.advertiser TO {database}.advertiser_ids32, {database}.advertiser_ids64 TO {database}.advertiser;

DROP TABLE IF EXISTS {database}.advertiser_ids32;

-- campaign
DROP TABLE IF EXISTS {database}.campaign_ids32;

CREATE TABLE IF NOT EXISTS {database}.campaign_ids64
(
    id Int64,
    name String,
    bid Decimal(10, 2),
    budget Decimal(10, 2),
    start_date Nullable(Date32),
    end_date Nullable(Date32),
    advertiser_id Nullable(Int64),
    updated_at Nullable(DateTime64(6, 'UTC')),
    created_at Nullable(DateTime64(6, 'UTC')),
    _version UInt64,
    _xid UInt64,
    _deleted UInt8 DEFAULT 0,
    INDEX xid_idx _xid TYPE minmax GRANULARITY 1,
    INDEX advertiser_idx advertiser_id TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_version, _deleted)
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;

INSERT INTO {database}.campaign_ids64 SELECT * FROM {database}.campaign
SETTINGS optimize_on_insert = 0;

RENAME TABLE {database}.campaign TO {database}.campaign_ids32, {database}.campaign_ids64 TO {database}.campaign;

DROP TABLE IF EXISTS {database}.campaign_ids32;

-- impressions
DROP TABLE IF EXISTS {database}.impressions_ids32;

CREATE TABLE IF NOT EXISTS {database}.impressions_ids64
(
    id Int64,
    campaign_id Nullable(Int64),
    created_at Nullable(DateTime64(6, 'UTC')),
    _version UInt64,
    _xid UInt64,
    _deleted UInt8 DEFAULT 0,
    INDEX xid_idx _xid TYPE minmax GRANULARITY 1,
    INDEX campaign_idx campaign_id TYPE minmax GRANULARITY 1,
    INDEX created_idx created_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_version, _deleted)
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;

INSERT INTO {database}.impressions_ids64 SELECT * FROM {database}.impressions
SETTINGS optimize_on_insert = 0;

RENAME TABLE {database}.impressions TO {database}.impressions_ids32, {database}.impressions_ids64 TO {database}.impressions;

DROP TABLE IF EXISTS {database}.impressions_ids32;

-- clicks
DROP TABLE IF EXISTS {database}.clicks_ids32;

CREATE TABLE IF NOT EXISTS {database}.clicks_ids64
(
    id Int64,
    campaign_id Nullable(Int64),
    created_at Nullable(DateTime64(6, 'UTC')),
    _version UInt64,
    _xid UInt64,
    _deleted UInt8 DEFAULT 0,
    INDEX xid_idx _xid TYPE minmax GRANULARITY 1,
    INDEX campaign_idx campaign_id TYPE minmax GRANULARITY 1,
    INDEX created_idx created_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_version, _deleted)
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;

INSERT INTO {database}.clicks_ids64 SELECT * FROM {database}.clicks
SETTINGS optimize_on_insert = 0;

RENAME TABLE {database}.clicks TO {database}.clicks_ids32, {database}.clicks_ids64 TO {database}.clicks;

DROP TABLE IF EXISTS {database}.clicks_ids32;

-- campaign_bids
DROP TABLE IF EXISTS {database}.campaign_bids_ids32;

CREATE TABLE IF NOT EXISTS {database}.campaign_bids_ids64
(
    id Int64,
    campaign_id Int64,
    bid Decimal(10, 2),
    valid_from DateTime64(6, 'UTC'),
    _version UInt64,
    _xid UInt64,
    _deleted UInt8 DEFAULT 0,
    INDEX xid_idx _xid TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_version, _deleted)
ORDER BY id
SETTINGS non_replicated_deduplication_window = 1000;

INSERT INTO {database}.campaign_bids_ids64 SELECT * FROM {database}.campaign_bids
SETTINGS optimize_on_insert = 0;

RENAME TABLE {database}.campaign_bids TO {database}.campaign_bids_ids32, {database}.campaign_bids_ids64 TO {database}.campaign_bids;

DROP TABLE IF EXISTS {database}.campaign_bids_ids32;

-- impressions_keyed
DROP TABLE IF EXISTS {database}.impressions_keyed_ids32;

CREATE TABLE IF NOT EXISTS {database}.impressions_keyed_ids64
(
    bucket Int64,
    campaign_id Nullable(Int64),
    id Int64,
    created_at Nullable(DateTime64(6, 'UTC')),
    _version UInt64,
    _xid UInt64,
    _deleted UInt8,
    INDEX xid_idx _xid TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_version)
ORDER BY (bucket, campaign_id, id)
SETTINGS allow_nullable_key = 1, index_granularity = 1024;

INSERT INTO {database}.impressions_keyed_ids64 SELECT * FROM {database}.impressions_keyed
SETTINGS optimize_on_insert = 0;

RENAME TABLE {database}.impressions_keyed TO {database}.impressions_keyed_ids32, {database}.impressions_keyed_ids64 TO {database}.impressions_keyed;

DROP TABLE IF EXISTS {database}.impressions_keyed_ids32;

-- clicks_keyed
DROP TABLE IF EXISTS {database}.clicks_keyed_ids32;

CREATE TABLE IF NOT EXISTS {database}.clicks_keyed_ids64
(
    bucket Int64,
    campaign_id Nullable(Int64),
    id Int64,
    created_at Nullable(DateTime64(6, 'UTC')),
    _version UInt64,
    _xid UInt64,
    _deleted UInt8,
    INDEX xid_idx _xid TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_version)
ORDER BY (bucket, campaign_id, id)
SETTINGS allow_nullable_key = 1, index_granularity = 1024;

INSERT INTO {database}.clicks_keyed_ids64 SELECT * FROM {database}.clicks_keyed
SETTINGS optimize_on_insert = 0;

RENAME TABLE {database}.clicks_keyed TO {database}.clicks_keyed_ids32, {database}.clicks_keyed_ids64 TO {database}.clicks_keyed;

DROP TABLE IF EXISTS {database}.clicks_keyed_ids32;

-- impressions_buckets
DROP TABLE IF EXISTS {database}.impressions_buckets_ids32;

CREATE TABLE IF NOT EXISTS {database}.impressions_buckets_ids64
(
    date Nullable(Date32),
    bucket Int64,
    campaign_id Int64,
    n UInt64,
    _version UInt64,
    _deleted UInt8 DEFAULT 0,
    cost Nullable(Decimal(18, 2))
)
ENGINE = ReplacingMergeTree(_version, _deleted)
ORDER BY (date, bucket, campaign_id)
SETTINGS allow_nullable_key = 1;

INSERT INTO {database}.impressions_buckets_ids64 SELECT * FROM {database}.impressions_buckets
SETTINGS optimize_on_insert = 0;

RENAME TABLE {database}.impressions_buckets TO {database}.impressions_buckets_ids32, {database}.impressions_buckets_ids64 TO {database}.impressions_buckets;

DROP TABLE IF EXISTS {database}.impressions_buckets_ids32;

-- clicks_buckets
DROP TABLE IF EXISTS {database}.clicks_buckets_ids32;

CREATE TABLE IF NOT EXISTS {database}.clicks_buckets_ids64
(
    date Nullable(Date32),
    bucket Int64,
    campaign_id Int64,
    n UInt64,
    _version UInt64,
    _deleted UInt8 DEFAULT 0,
    cost Nullable(Decimal(18, 2))
)
ENGINE = ReplacingMergeTree(_version, _deleted)
ORDER BY (date, bucket, campaign_id)
SETTINGS allow_nullable_key = 1;

INSERT INTO {database}.clicks_buckets_ids64 SELECT * FROM {database}.clicks_buckets
SETTINGS optimize_on_insert = 0;

RENAME TABLE {database}.clicks_buckets TO {database}.clicks_buckets_ids32, {database}.clicks_buckets_ids64 TO {database}.clicks_buckets;

DROP TABLE IF EXISTS {database}.clicks_buckets_ids32;

-- advertiser_campaigns
DROP TABLE IF EXISTS {database}.advertiser_campaigns_ids32;

CREATE TABLE IF NOT EXISTS {database}.advertiser_campaigns_ids64
(
    campaign_id Int64,
    campaign_name String,
    advertiser_id Nullable(Int64),
    advertiser_name Nullable(String),
    bid Decimal(10, 2),
    budget Decimal(10, 2),
    start_date Nullable(Date32),
    end_date Nullable(Date32),
    _version UInt64,
    _deleted UInt8 DEFAULT 0,
    INDEX advertiser_idx advertiser_id TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_version, _deleted)
ORDER BY campaign_id;

INSERT INTO {database}.advertiser_campaigns_ids64 SELECT * FROM {database}.advertiser_campaigns
SETTINGS optimize_on_insert = 0;

RENAME TABLE {database}.advertiser_campaigns TO {database}.advertiser_campaigns_ids32, {database}.advertiser_campaigns_ids64 TO {database}.advertiser_campaigns;

DROP TABLE IF EXISTS {database}.advertiser_campaigns_ids32;

-- advertiser_campaigns_impressions
DROP TABLE IF EXISTS {database}.advertiser_campaigns_impressions_ids32;

CREATE TABLE IF NOT EXISTS {database}.advertiser_campaigns_impressions_ids64
(
    campaign_id Int64,
    date Date32,
    advertiser_id Nullable(Int64),
    impressions UInt64,
    _version UInt64,
    _deleted UInt8 DEFAULT 0,
    cost Decimal(18, 2) DEFAULT 0,
    INDEX advertiser_idx advertiser_id TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_version, _deleted)
ORDER BY (campaign_id, date);

INSERT INTO {database}.advertiser_campaigns_impressions_ids64 SELECT * FROM {database}.advertiser_campaigns_impressions
SETTINGS optimize_on_insert = 0;

RENAME TABLE {database}.advertiser_campaigns_impressions TO {database}.advertiser_campaigns_impressions_ids32, {database}.advertiser_campaigns_impressions_ids64 TO {database}.advertiser_campaigns_impressions;

DROP TABLE IF EXISTS {database}.advertiser_campaigns_impressions_ids32;

-- advertiser_campaigns_clicks
DROP TABLE IF EXISTS {database}.advertiser_campaigns_clicks_ids32;

CREATE TABLE IF NOT EXISTS {database}.advertiser_campaigns_clicks_ids64
(
    campaign_id Int64,
    date Date32,
    advertiser_id Nullable(Int64),
    clicks UInt64,
    _version UInt64,
    _deleted UInt8 DEFAULT 0,
    cost Decimal(18, 2) DEFAULT 0,
    INDEX advertiser_idx advertiser_id TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_version, _deleted)
ORDER BY (campaign_id, date);

INSERT INTO {database}.advertiser_campaigns_clicks_ids64 SELECT * FROM {database}.advertiser_campaigns_clicks
SETTINGS optimize_on_insert = 0;

RENAME TABLE {database}.advertiser_campaigns_clicks TO {database}.advertiser_campaigns_clicks_ids32, {database}.advertiser_campaigns_clicks_ids64 TO {database}.advertiser_campaigns_clicks;

DROP TABLE IF EXISTS {database}.advertiser_campaigns_clicks_ids32;

-- advertiser_campaigns_totals_report
DROP TABLE IF EXISTS {database}.advertiser_campaigns_totals_report_ids32;

CREATE TABLE IF NOT EXISTS {database}.advertiser_campaigns_totals_report_ids64
(
    campaign_id Int64,
    campaign_name String,
    advertiser_id Nullable(Int64),
    advertiser_name Nullable(String),
    bid Decimal(10, 2),
    budget Decimal(10, 2),
    start_date Nullable(Date32),
    end_date Nullable(Date32),
    impressions UInt64,
    clicks UInt64,
    ctr Float64,
    spend Decimal(18, 2),
    cost Decimal(18, 2) DEFAULT 0,
    budget_remaining Decimal(18, 2),
    budget_used_pct Float64,
    budget_status LowCardinality(String),
    days_total UInt32,
    days_elapsed UInt32,
    days_remaining UInt32,
    daily_norm Decimal(18, 2),
    daily_used Decimal(18, 2),
    pacing Float64,
    cpm Decimal(18, 2),
    cpc Decimal(18, 2),
    period_status LowCardinality(String),
    report_date Date32,
    _version UInt64,
    _deleted UInt8 DEFAULT 0,
    INDEX advertiser_idx advertiser_id TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_version, _deleted)
ORDER BY campaign_id;

INSERT INTO {database}.advertiser_campaigns_totals_report_ids64 SELECT * FROM {database}.advertiser_campaigns_totals_report
SETTINGS optimize_on_insert = 0;

RENAME TABLE {database}.advertiser_campaigns_totals_report TO {database}.advertiser_campaigns_totals_report_ids32, {database}.advertiser_campaigns_totals_report_ids64 TO {database}.advertiser_campaigns_totals_report;

DROP TABLE IF EXISTS {database}.advertiser_campaigns_totals_report_ids32;

-- advertiser_campaigns_daily_ctr_report
DROP TABLE IF EXISTS {database}.advertiser_campaigns_daily_ctr_report_ids32;

CREATE TABLE IF NOT EXISTS {database}.advertiser_campaigns_daily_ctr_report_ids64
(
    campaign_id Int64,
    date Date32,
    advertiser_id Nullable(Int64),
    day_number Nullable(Int32),
    impressions UInt64,
    clicks UInt64,
    ctr Float64,
    _version UInt64,
    _deleted UInt8 DEFAULT 0,
    INDEX advertiser_idx advertiser_id TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_version, _deleted)
ORDER BY (campaign_id, date);

INSERT INTO {database}.advertiser_campaigns_daily_ctr_report_ids64 SELECT * FROM {database}.advertiser_campaigns_daily_ctr_report
SETTINGS optimize_on_insert = 0;

RENAME TABLE {database}.advertiser_campaigns_daily_ctr_report TO {database}.advertiser_campaigns_daily_ctr_report_ids32, {database}.advertiser_campaigns_daily_ctr_report_ids64 TO {database}.advertiser_campaigns_daily_ctr_report;

DROP TABLE IF EXISTS {database}.advertiser_campaigns_daily_ctr_report_ids32;

-- The keyed copies of every insert into the fact tables again (as in 0008), with 64-bit buckets.
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.impressions_keyed_mv TO {database}.impressions_keyed AS
SELECT intDiv(id, 65536) AS bucket, campaign_id, id, created_at, _version, _xid, _deleted
FROM {database}.impressions;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.clicks_keyed_mv TO {database}.clicks_keyed AS
SELECT intDiv(id, 65536) AS bucket, campaign_id, id, created_at, _version, _xid, _deleted
FROM {database}.clicks;

-- The views of 0002 and 0009, unchanged.
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

CREATE OR REPLACE VIEW {database}.campaign_bids_current AS
SELECT id, campaign_id, bid, valid_from
FROM {database}.campaign_bids FINAL
WHERE _version > (SELECT max(_version) FROM {database}.truncations WHERE table_name = 'campaign_bids');

-- The compatibility views of 0006: rtm_campaign_id and rtm_advertiser_id are Int64 now.
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
    toInt64(if(a.found = 1, a.id, 0)) AS rtm_advertiser_id,
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
    toInt64(ifNull(r.advertiser_id, 0)) AS rtm_advertiser_id,
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
    toInt64(ifNull(r.advertiser_id, 0)) AS rtm_advertiser_id,
    r.campaign_id AS rtm_campaign_id,
    toDateTime(ifNull(l.last_at, toDateTime64(0, 6, 'UTC')), 'UTC') AS rtm_delta
FROM (SELECT * FROM {database}.advertiser_campaigns_clicks FINAL WHERE _deleted = 0) AS r
LEFT JOIN (
    SELECT assumeNotNull(campaign_id) AS campaign_id, toDate32(assumeNotNull(created_at)) AS date, max(created_at) AS last_at
    FROM {database}.clicks_current
    WHERE campaign_id IS NOT NULL AND created_at IS NOT NULL
    GROUP BY campaign_id, date
) AS l ON l.campaign_id = r.campaign_id AND l.date = r.date;

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
    toInt64(ifNull(advertiser_id, 0)) AS rtm_advertiser_id,
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

CREATE OR REPLACE VIEW {database}_seed.advertiser_campaigns_daily_ctr_report AS
SELECT
    ifNull(n.advertiser_name, '') AS advertiser_name,
    ifNull(n.campaign_name, '') AS campaign_name,
    toUInt64(row_number() OVER (PARTITION BY d.campaign_id ORDER BY d.date)) AS campaign_day,
    toDate(d.date) AS campaign_impressions_date,
    toInt32(d.impressions) AS campaign_impressions_count_daily,
    toInt32(d.clicks) AS campaign_clicks_count_daily,
    intDiv(d.clicks * 20000 + d.impressions, d.impressions * 2) / 100 AS campaign_ctr_daily,
    toInt64(ifNull(d.advertiser_id, 0)) AS rtm_advertiser_id,
    d.campaign_id AS rtm_campaign_id
FROM (
    SELECT * FROM {database}.advertiser_campaigns_daily_ctr_report FINAL WHERE _deleted = 0 AND impressions > 0
) AS d
LEFT JOIN (
    SELECT campaign_id, campaign_name, advertiser_name FROM {database}.advertiser_campaigns FINAL WHERE _deleted = 0
) AS n ON n.campaign_id = d.campaign_id;
