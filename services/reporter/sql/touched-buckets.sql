-- What the loaded windows wrote in a fact table (migrations 0007 and 0008), one read for all, one
-- row per group of one of three grouping sets (the other sets' columns NULL):
-- - `whole_bucket`: the id bucket of every live row version whose transaction is in a window, and of
--   every tombstone without a campaign (a delete PostgreSQL recorded before its migration 0008:
--   the campaign it takes a fact from is unknown). These buckets are recounted whole: new facts
--   arrive interleaved over many campaigns, so a bucket of them is cheaper read whole. A fact's
--   versions all fall in its id's bucket (a changed id is a delete plus an insert, two ids), so a
--   move, a tombstone plus its new version, recounts its bucket whole too;
-- - `pair_bucket`, `pair_campaign`: the (id bucket, campaign) of every tombstone that names a
--   campaign (the campaign of the version it removes, PostgreSQL migration 0008): a delete
--   recounts only that pair, unless its bucket is recounted whole anyway;
-- - `key_campaign`, `key_date`: the (campaign, day) of every live row version in a window (date NULL:
--   no created_at, totals only). With the keys the recounted rows had (bucket-days.sql, read
--   while the recount runs) they are every key the recount can change: a key gains facts only
--   from a version written in a window (this one's, or another's, which its own event rebuilds),
--   and a key that loses facts has a stored row.
-- It reads <table>_keyed (migration 0008), not the fact table: there a tombstone keeps its own
-- row (it sorts under the campaign it removes), while in the fact table a newer version of the
-- same id replaces it when they merge, or at once when one INSERT holds both.
-- The read uses the _xid minmax index; ids grow with time, so recent windows sit in few granules.
-- One read with GROUPING SETS, not three SELECTs of a UNION ALL: each SELECT was its own read and
-- plan (measured, docs/benchmarks.md).
-- The aliases differ from the column names: ClickHouse resolves a bare name to an alias first.
SELECT whole_bucket, pair_bucket, pair_campaign, key_campaign, key_date
FROM (
    SELECT if(_deleted = 0 OR campaign_id IS NULL, toNullable(toInt64(bucket)), NULL) AS whole_bucket,
           if(_deleted = 1 AND campaign_id IS NOT NULL, toNullable(toInt64(bucket)), NULL) AS pair_bucket,
           if(_deleted = 1, campaign_id, NULL) AS pair_campaign,
           if(_deleted = 0, campaign_id, NULL) AS key_campaign,
           if(_deleted = 0 AND campaign_id IS NOT NULL, toString(toDate32(created_at)), NULL) AS key_date
    FROM {table:Identifier}
    WHERE _xid >= {from:UInt64} AND _xid < {to:UInt64}
      AND arrayExists((f, t) -> _xid >= f AND _xid < t, {froms:Array(UInt64)}, {tos:Array(UInt64)})
)
GROUP BY GROUPING SETS ((whole_bucket), (pair_bucket, pair_campaign), (key_campaign, key_date))
