-- The same rows in a fact table's keyed copy (migration 0008), which its materialized view filled
-- from the fact table and which a DELETE there does not reach. bucket is its first sort key.
DELETE FROM {table:Identifier}
WHERE bucket IN {buckets:Array(Int32)} AND id IN {ids:Array(Int64)}
  AND has(arrayZip({ids:Array(Int64)}, {versions:Array(UInt64)}), tuple(toInt64(id), _version))
