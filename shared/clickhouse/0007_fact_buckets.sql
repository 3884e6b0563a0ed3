-- Per-bucket counts of impressions and clicks: what makes a rebuild's cost follow the change, not
-- the history (docs/reporter.md, "Id buckets"). A bucket is a range of 65,536 fact ids
-- (bucket = intDiv(id, 65536); the reporter's BUCKET_IDS); each row is the number of current
-- facts of one bucket on one (day, campaign). date is NULL for facts without created_at (they
-- count in totals only); facts without a campaign are in no report and not counted.
-- The reporter owns the contents: after a loaded window it recounts the buckets the window's ids
-- fall in, from the fact tables (a range read of the primary key, id), and writes every row of
-- those buckets under a newer _version (a tombstone for a (day, campaign) that left the bucket).
-- A recount is a function of the fact tables alone, so a redelivered event, a retried rebuild or
-- a delete whose older versions were merged away cannot skew it. The daily report rows are then
-- the sums of their buckets: ORDER BY (date, bucket, campaign_id) keeps one day's rows together
-- (a day's sum reads that day only) and still prunes a bucket's rows by its second key column.
-- Created empty: a reporter that finds them empty while the fact tables are not runs a full
-- rebuild at start-up, which fills them (existing data is kept and nothing is re-extracted).

CREATE TABLE IF NOT EXISTS {database}.impressions_buckets
(
    date Nullable(Date32),
    bucket Int32,
    campaign_id Int32,
    n UInt64,
    _version UInt64,
    _deleted UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(_version, _deleted)
ORDER BY (date, bucket, campaign_id)
SETTINGS allow_nullable_key = 1;

CREATE TABLE IF NOT EXISTS {database}.clicks_buckets
(
    date Nullable(Date32),
    bucket Int32,
    campaign_id Int32,
    n UInt64,
    _version UInt64,
    _deleted UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(_version, _deleted)
ORDER BY (date, bucket, campaign_id)
SETTINGS allow_nullable_key = 1;
