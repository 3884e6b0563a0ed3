-- What the loaded windows wrote in a fact table (migrations 0007 and 0008), one query for all:
-- - kind 'pair': the (id bucket, campaign) of every row version, tombstone or row, with a
--   campaign whose transaction is in a window. A tombstone names the campaign of the version it
--   removes (PostgreSQL migration 0008), and a moved fact is a tombstone plus its new version, so
--   recounting these pairs picks up every insert, update, delete and move of the windows;
-- - kind 'bucket': the id bucket of a tombstone without a campaign (a delete PostgreSQL recorded
--   before its migration 0008): the campaign it takes a fact from is unknown, so the whole bucket
--   is recounted. A fact's versions all fall in its id's bucket (a changed id is a delete plus an
--   insert, two ids);
-- - kind 'key': the (campaign, day) of every live row version in a window (date NULL: no
--   created_at, totals only). With the keys the recounted rows had (bucket-days.sql, read while
--   the recount runs) they are every key the recount can change: a key gains facts only from a
--   version written in a window (this one's, or another's, which its own event rebuilds), and a
--   key that loses facts has a stored row.
-- It reads <table>_keyed (migration 0008), not the fact table: there the tombstone of a move
-- keeps its own row (it sorts under the campaign it left), while in the fact table the move's new
-- version replaces it when they merge, or at once when one INSERT holds both.
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
WHERE w.campaign_id IS NULL AND w._deleted = 1
GROUP BY bucket
UNION ALL
SELECT 'pair' AS kind, toInt64(bucket) AS bucket, campaign_id, CAST(NULL AS Nullable(String)) AS date
FROM windowed
WHERE campaign_id IS NOT NULL
GROUP BY bucket, campaign_id
UNION ALL
SELECT 'key' AS kind, CAST(NULL AS Nullable(Int64)) AS bucket, campaign_id,
       toString(toDate32(created_at)) AS date
FROM windowed
WHERE _deleted = 0 AND campaign_id IS NOT NULL
GROUP BY campaign_id, date
