-- The five analytical tables of the original design (names and meaning kept). The reporter owns
-- their contents; docs/clickhouse.md documents every column and KPI.
-- All five are ReplacingMergeTree(_version, _deleted) keyed by what identifies a report row
-- (campaign, or campaign and day): a rebuild inserts the new rows of every touched key in one
-- INSERT with a greater _version (tombstones for keys that vanished), and readers that select
-- with FINAL see either the old rows or the new ones, never an empty or half-built report.
-- advertiser_id is not in any sort key: a campaign may move to another advertiser, and a
-- replacing key must not change; a minmax skip index serves the per-advertiser reads instead.
-- No partitions: a few rows per campaign and day stay small, and FINAL is cheapest in one range.

CREATE TABLE IF NOT EXISTS {database}.advertiser_campaigns
(
    campaign_id Int32,
    campaign_name String,
    advertiser_id Nullable(Int32),
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

CREATE TABLE IF NOT EXISTS {database}.advertiser_campaigns_impressions
(
    campaign_id Int32,
    date Date32,
    advertiser_id Nullable(Int32),
    impressions UInt64,
    _version UInt64,
    _deleted UInt8 DEFAULT 0,
    INDEX advertiser_idx advertiser_id TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_version, _deleted)
ORDER BY (campaign_id, date);

CREATE TABLE IF NOT EXISTS {database}.advertiser_campaigns_clicks
(
    campaign_id Int32,
    date Date32,
    advertiser_id Nullable(Int32),
    clicks UInt64,
    _version UInt64,
    _deleted UInt8 DEFAULT 0,
    INDEX advertiser_idx advertiser_id TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_version, _deleted)
ORDER BY (campaign_id, date);

CREATE TABLE IF NOT EXISTS {database}.advertiser_campaigns_totals_report
(
    campaign_id Int32,
    campaign_name String,
    advertiser_id Nullable(Int32),
    advertiser_name Nullable(String),
    bid Decimal(10, 2),
    budget Decimal(10, 2),
    start_date Nullable(Date32),
    end_date Nullable(Date32),
    impressions UInt64,
    clicks UInt64,
    ctr Float64,
    spend Decimal(18, 2),
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

CREATE TABLE IF NOT EXISTS {database}.advertiser_campaigns_daily_ctr_report
(
    campaign_id Int32,
    date Date32,
    advertiser_id Nullable(Int32),
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
