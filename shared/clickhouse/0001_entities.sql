-- The four OLTP tables as change logs: every version of every row the extractor delivers, plus
-- delete tombstones (_deleted = 1). ReplacingMergeTree(_version, _deleted) keeps the newest
-- version per id when parts merge, and FINAL applies the same rule at read time, so a batch
-- loaded twice or an older version arriving after a newer one changes nothing that is read.
-- ORDER BY id: the replacing key must be the same in every version of a row, and id is the one
-- column PostgreSQL's triggers guarantee (an UPDATE of id is captured as delete + insert).
-- Timestamps are PostgreSQL's TIMESTAMP (no zone): stored as given, read back as given, in UTC.
-- _xid is the PostgreSQL transaction that wrote the version: the rows of one extractor window
-- are those with from <= _xid < to, which is how the reporter finds what a loaded batch touched
-- (minmax index: windows arrive in order, so parts cover narrow _xid ranges).
-- non_replicated_deduplication_window lets a loader pass insert_deduplication_token (its batch
-- id): a redelivered batch is then not even stored twice; correctness does not depend on it.

CREATE TABLE IF NOT EXISTS {database}.advertiser
(
    id Int32,
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

CREATE TABLE IF NOT EXISTS {database}.campaign
(
    id Int32,
    name String,
    bid Decimal(10, 2),
    budget Decimal(10, 2),
    start_date Nullable(Date32),
    end_date Nullable(Date32),
    advertiser_id Nullable(Int32),
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

-- Impressions and clicks are inserted in campaign batches with growing ids, so a granule covers
-- few campaigns and a narrow time range: minmax skip indexes prune most of the table for the
-- per-campaign and per-day reads without changing the sort key.
CREATE TABLE IF NOT EXISTS {database}.impressions
(
    id Int32,
    campaign_id Nullable(Int32),
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

CREATE TABLE IF NOT EXISTS {database}.clicks
(
    id Int32,
    campaign_id Nullable(Int32),
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

-- A TRUNCATE in PostgreSQL: every row of table_name with a smaller _version is gone.
CREATE TABLE IF NOT EXISTS {database}.truncations
(
    table_name LowCardinality(String),
    _version UInt64,
    _xid UInt64 DEFAULT 0
)
ENGINE = ReplacingMergeTree
ORDER BY (table_name, _version)
SETTINGS non_replicated_deduplication_window = 1000;
