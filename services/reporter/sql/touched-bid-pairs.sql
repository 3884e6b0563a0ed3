-- The click (bucket, campaign) pairs a change of bid history reprices (docs/kpis.md, "Spend
-- and cost"): every pair holding a click of a campaign whose history rows the loaded windows
-- wrote, whatever the click's time (a first row reprices the clicks before it too). The
-- campaign of a history row comes from its stored versions (a tombstone carries only the id).
-- clicks_buckets is read without FINAL: a pair counted once and emptied since is recounted
-- again, which writes what is already there.
SELECT DISTINCT bucket, campaign_id
FROM clicks_buckets
WHERE campaign_id IN (
    SELECT campaign_id FROM campaign_bids
    WHERE _deleted = 0 AND id IN (
        SELECT id FROM campaign_bids
        WHERE _xid >= {from:UInt64} AND _xid < {to:UInt64}
          AND arrayExists((f, t) -> _xid >= f AND _xid < t, {froms:Array(UInt64)}, {tos:Array(UInt64)})
    )
)
