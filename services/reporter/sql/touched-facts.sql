-- The (campaign, day) keys the rows of loaded windows touched in impressions or clicks: every
-- stored version of every id written in the windows (the raw table, not the view), so a deleted
-- or moved row's old campaign and day are found too. The inner read uses the _xid minmax index,
-- the outer one the primary key (id). date is NULL for rows without created_at (totals only).
SELECT DISTINCT assumeNotNull(campaign_id) AS campaign_id, toString(toDate32(created_at)) AS date
FROM {table:Identifier} AS f
WHERE f.campaign_id IS NOT NULL
  AND f.id IN (
    SELECT id FROM {table:Identifier}
    WHERE _xid >= {from:UInt64} AND _xid < {to:UInt64}
      AND arrayExists((f, t) -> _xid >= f AND _xid < t, {froms:Array(UInt64)}, {tos:Array(UInt64)})
  )
