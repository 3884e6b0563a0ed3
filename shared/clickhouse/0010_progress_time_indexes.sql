-- The heal step's read of loaded_batches and reported_batches (services/reporter/sql/
-- unreported-batches.sql) looks only at batches loaded since the last pass it completed, not at
-- the last 7 days: minmax indexes on the times let that read skip the granules of older batches
-- (batch ids begin with their table, kind and window, so a granule holds batches of one period).
ALTER TABLE {database}.loaded_batches ADD INDEX IF NOT EXISTS loaded_at_idx loaded_at TYPE minmax GRANULARITY 1;
ALTER TABLE {database}.loaded_batches MATERIALIZE INDEX IF EXISTS loaded_at_idx;
ALTER TABLE {database}.reported_batches ADD INDEX IF NOT EXISTS reported_at_idx reported_at TYPE minmax GRANULARITY 1;
ALTER TABLE {database}.reported_batches MATERIALIZE INDEX IF EXISTS reported_at_idx;
