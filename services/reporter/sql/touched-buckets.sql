-- What the loaded windows wrote in a fact table (migration 0007), one query for both:
-- - kind 'bucket': the id bucket of every row version, tombstone or row, whose transaction is in
--   a window. A fact's versions all fall in its id's bucket (a changed id is a delete plus an
--   insert, two ids), so recounting these buckets picks up every insert, update, delete and move
--   of the windows;
-- - kind 'key': the (campaign, day) of every live row version in a window (date NULL: no
--   created_at, totals only). With the keys the buckets' stored rows name (bucket-days.sql, read
--   while the recount runs) they are every key the recount can change: a key gains facts only
--   from a version written in a window (this one's, or another's, which its own event rebuilds),
--   and a key that loses facts has a stored row.
-- The read uses the _xid minmax index; ids grow with time, so recent windows sit in few granules.
WITH windowed AS (
    SELECT id, campaign_id, created_at, _deleted FROM {table:Identifier}
    WHERE _xid >= {from:UInt64} AND _xid < {to:UInt64}
      AND arrayExists((f, t) -> _xid >= f AND _xid < t, {froms:Array(UInt64)}, {tos:Array(UInt64)})
)
SELECT 'bucket' AS kind, intDiv(id, {bucket_ids:UInt32}) AS bucket,
       CAST(NULL AS Nullable(Int32)) AS campaign_id, CAST(NULL AS Nullable(String)) AS date
FROM windowed
GROUP BY bucket
UNION ALL
SELECT 'key' AS kind, CAST(NULL AS Nullable(Int64)) AS bucket, campaign_id,
       toString(toDate32(created_at)) AS date
FROM windowed
WHERE _deleted = 0 AND campaign_id IS NOT NULL
GROUP BY campaign_id, date
