-- Spend at the bid in force (docs/reporter.md, "Spend and cost"): PostgreSQL's bid history
-- (campaign_bids, written by its triggers) replicated like the other tables, and the price of
-- every click kept beside its count, so the reports can say what the clicks cost when they
-- happened (`cost`) next to the original's clicks x current bid (`spend`).
-- clicks_buckets.cost is Nullable on purpose: rows counted before this migration have no price,
-- and a reporter that finds such a row (report-state.sql) runs a full rebuild at start-up, which
-- prices every click (nothing is re-extracted). The other cost columns default to 0 until then.

CREATE TABLE IF NOT EXISTS {database}.campaign_bids
(
    id Int32,
    campaign_id Int32,
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

CREATE OR REPLACE VIEW {database}.campaign_bids_current AS
SELECT id, campaign_id, bid, valid_from
FROM {database}.campaign_bids FINAL
WHERE _version > (SELECT max(_version) FROM {database}.truncations WHERE table_name = 'campaign_bids');

-- Impressions carry the same columns at 0, so one statement serves both facts.
ALTER TABLE {database}.clicks_buckets ADD COLUMN IF NOT EXISTS cost Nullable(Decimal(18, 2));

ALTER TABLE {database}.impressions_buckets ADD COLUMN IF NOT EXISTS cost Nullable(Decimal(18, 2));

ALTER TABLE {database}.advertiser_campaigns_impressions ADD COLUMN IF NOT EXISTS cost Decimal(18, 2) DEFAULT 0;

ALTER TABLE {database}.advertiser_campaigns_clicks ADD COLUMN IF NOT EXISTS cost Decimal(18, 2) DEFAULT 0;

ALTER TABLE {database}.advertiser_campaigns_totals_report ADD COLUMN IF NOT EXISTS cost Decimal(18, 2) DEFAULT 0 AFTER spend;
