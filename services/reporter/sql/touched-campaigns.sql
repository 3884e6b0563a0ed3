-- Campaign ids written in the loaded windows (any version: a deleted campaign's tombstone too).
SELECT DISTINCT id AS campaign_id
FROM campaign
WHERE _xid >= {from:UInt64} AND _xid < {to:UInt64}
  AND arrayExists((f, t) -> _xid >= f AND _xid < t, {froms:Array(UInt64)}, {tos:Array(UInt64)})
