-- What the loaded windows wrote in a fact table (migrations 0007 and 0008), one query for all:
-- - kind 'bucket': the id bucket of every live row version whose transaction is in a window, and
--   of every tombstone without a campaign (a delete PostgreSQL recorded before its migration
--   0008: the campaign it takes a fact from is unknown). These buckets are recounted whole: new
--   facts arrive interleaved over many campaigns, so a bucket of them is cheaper read whole. A
--   fact's versions all fall in its id's bucket (a changed id is a delete plus an insert, two
--   ids), so a move, a tombstone plus its new version, recounts its bucket whole too;
-- - kind 'pair': the (id bucket, campaign) of every tombstone that names a campaign (the
--   campaign of the version it removes, PostgreSQL migration 0008): a delete recounts only that
--   pair, unless its bucket is recounted whole anyway;
-- - kind 'key': the (campaign, day) of every live row version in a window (date NULL: no
--   created_at, totals only). With the keys the recounted rows had (bucket-days.sql, read while
--   the recount runs) they are every key the recount can change: a key gains facts only from a
--   version written in a window (this one's, or another's, which its own event rebuilds), and a
--   key that loses facts has a stored row.
-- It reads <table>_keyed (migration 0008), not the fact table: there a tombstone keeps its own
-- row (it sorts under the campaign it removes), while in the fact table a newer version of the
-- same id replaces it when they merge, or at once when one INSERT holds both.
-- The read uses the _xid minmax index; ids grow with time, so recent windows sit in few granules.
WITH windowed AS (
    SELECT bucket, id, campaign_id, created_at, _deleted FROM {table:Identifier}
    WHERE _xid >= {from:UInt64} AND _xid < {to:UInt64}
      AND arrayExists((f, t) -> _xid >= f AND _xid < t, {froms:Array(UInt64)}, {tos:Array(UInt64)})
)
SELECT 'bucket' AS kind, toInt64(w.bucket) AS bucket,
       CAST(NULL AS Nullable(Int32)) AS campaign_id, CAST(NULL AS Nullable(String)) AS date
FROM windowed AS w
-- w.: the column, not this SELECT's campaign_id (ClickHouse resolves a bare name to an alias first).
WHERE w._deleted = 0 OR w.campaign_id IS NULL
GROUP BY bucket
UNION ALL
SELECT 'pair' AS kind, toInt64(bucket) AS bucket, campaign_id, CAST(NULL AS Nullable(String)) AS date
FROM windowed
WHERE _deleted = 1 AND campaign_id IS NOT NULL
GROUP BY bucket, campaign_id
UNION ALL
SELECT 'key' AS kind, CAST(NULL AS Nullable(Int64)) AS bucket, campaign_id,
       toString(toDate32(created_at)) AS date
FROM windowed
WHERE _deleted = 0 AND campaign_id IS NOT NULL
GROUP BY campaign_id, date
