-- The id buckets (migration 0007) the loaded windows wrote in a fact table: the bucket of every
-- row version, tombstone or row, whose transaction is in a window. A fact's versions all fall in
-- its id's bucket (a changed id is a delete plus an insert, two ids), so recounting these buckets
-- picks up every insert, update, delete and move of the windows. The read uses the _xid minmax
-- index; ids grow with time, so recent windows sit in few granules.
SELECT DISTINCT intDiv(id, {bucket_ids:UInt32}) AS bucket
FROM {table:Identifier}
WHERE _xid >= {from:UInt64} AND _xid < {to:UInt64}
  AND arrayExists((f, t) -> _xid >= f AND _xid < t, {froms:Array(UInt64)}, {tos:Array(UInt64)})
