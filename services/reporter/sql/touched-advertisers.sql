-- Campaigns of the advertisers written in the loaded windows (their name is in the campaign
-- reports). Any stored campaign version naming the advertiser counts.
SELECT DISTINCT id AS campaign_id
FROM campaign
WHERE advertiser_id IN (
    SELECT id FROM advertiser
    WHERE _xid >= {from:UInt64} AND _xid < {to:UInt64}
      AND arrayExists((f, t) -> _xid >= f AND _xid < t, {froms:Array(UInt64)}, {tos:Array(UInt64)})
)
