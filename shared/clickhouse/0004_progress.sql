-- Durable progress, so a lost or never-delivered loaded event costs one heal interval, never
-- correctness (docs/reporter.md, "Heal").
-- loaded_batches: the loader writes one row per delta batch after the batch's rows are in the
-- entity table and before it announces the batch or acknowledges it. A row here therefore proves
-- "loaded"; a batch without a row is "not loaded yet" (its delta is still in JetStream and will
-- be loaded and announced). A redelivered batch writes its row again: same key, harmless.
-- reported_batches: the reporter writes the batch ids a successful rebuild reflected. The heal
-- step rebuilds the windows of loaded batches with no reported row, then records them.
-- Both expire after 7 days, the delta stream's retention: a batch older than that is reported or
-- re-extracted by a resync anyway.

CREATE TABLE IF NOT EXISTS {database}.loaded_batches
(
    table_name LowCardinality(String),
    batch_id String,
    kind LowCardinality(String),
    from_xid UInt64,
    to_xid UInt64,
    rows UInt64,
    loaded_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY (table_name, batch_id)
TTL toDateTime(loaded_at) + INTERVAL 7 DAY;

CREATE TABLE IF NOT EXISTS {database}.reported_batches
(
    table_name LowCardinality(String),
    batch_id String,
    to_xid UInt64,
    version UInt64,
    reported_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(reported_at)
ORDER BY (table_name, batch_id)
TTL toDateTime(reported_at) + INTERVAL 7 DAY;
