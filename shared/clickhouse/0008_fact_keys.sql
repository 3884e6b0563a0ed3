-- Every version of every impression and click again, sorted by (bucket, campaign_id, id): what
-- makes the reporter's recount after a delete or a move read only the (bucket, campaign) pairs a
-- change touched, not whole buckets (docs/reporter.md, "Id buckets"). bucket is the fact's id
-- bucket (intDiv(id, 65536), the reporter's BUCKET_IDS, as in 0007).
-- A materialized view copies each INSERT into the fact table as it is stored, so the copy is as
-- complete as the fact table itself, on every path that writes it (loader, verifier repairs,
-- anything else). A tombstone carries the campaign of the version it removes (PostgreSQL
-- migration 0008), so it sorts next to that version; a tombstone without one (recorded before
-- that migration) sorts under campaign_id NULL, and the reporter reads those of a bucket with
-- every pair of it.
-- ReplacingMergeTree(_version) without the _deleted flag: a merge keeps the newest version of a
-- (bucket, campaign_id, id), tombstone or not, so a tombstone stays to outrank an older version
-- that arrives late. Readers pick each id's newest version themselves (argMax), never FINAL.
-- _xid with its minmax index, as in the fact tables: the reporter finds what a loaded window
-- wrote here, because here a move's tombstone outlives merges (in the fact table the new version
-- of the same id replaces it, and with it the campaign it left).
-- index_granularity 1,024: a (bucket, campaign) pair is about 65 rows when campaigns interleave,
-- so a pair reads one or two granules (256 measured no faster: bench:kpi, docs/reporter.md).
-- The last statements copy what the fact tables already hold (every version): repeating them,
-- when a run stops half-way, stores rows that are already there, which changes nothing that is read.

CREATE TABLE IF NOT EXISTS {database}.impressions_keyed
(
    bucket Int32,
    campaign_id Nullable(Int32),
    id Int32,
    created_at Nullable(DateTime64(6, 'UTC')),
    _version UInt64,
    _xid UInt64,
    _deleted UInt8,
    INDEX xid_idx _xid TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_version)
ORDER BY (bucket, campaign_id, id)
SETTINGS allow_nullable_key = 1, index_granularity = 1024;

CREATE TABLE IF NOT EXISTS {database}.clicks_keyed
(
    bucket Int32,
    campaign_id Nullable(Int32),
    id Int32,
    created_at Nullable(DateTime64(6, 'UTC')),
    _version UInt64,
    _xid UInt64,
    _deleted UInt8,
    INDEX xid_idx _xid TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(_version)
ORDER BY (bucket, campaign_id, id)
SETTINGS allow_nullable_key = 1, index_granularity = 1024;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.impressions_keyed_mv TO {database}.impressions_keyed AS
SELECT toInt32(intDiv(id, 65536)) AS bucket, campaign_id, id, created_at, _version, _xid, _deleted
FROM {database}.impressions;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.clicks_keyed_mv TO {database}.clicks_keyed AS
SELECT toInt32(intDiv(id, 65536)) AS bucket, campaign_id, id, created_at, _version, _xid, _deleted
FROM {database}.clicks;

INSERT INTO {database}.impressions_keyed
SELECT toInt32(intDiv(id, 65536)) AS bucket, campaign_id, id, created_at, _version, _xid, _deleted
FROM {database}.impressions;

INSERT INTO {database}.clicks_keyed
SELECT toInt32(intDiv(id, 65536)) AS bucket, campaign_id, id, created_at, _version, _xid, _deleted
FROM {database}.clicks;
