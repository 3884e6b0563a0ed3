-- Deleted ids of the loaded windows whose stored versions no longer say where the row counted:
-- a background merge can collapse a row's older versions into its delete tombstone (which has no
-- campaign) before the reporter looks. Their (campaign, day) is unknown, so the caller rebuilds
-- everything instead. Also counts a row that never had a campaign (harmless: a full rebuild).
SELECT count() AS lost
FROM (
    SELECT f.id, countIf(f.campaign_id IS NOT NULL) AS known
    FROM {table:Identifier} AS f
    WHERE f.id IN (
        SELECT id FROM {table:Identifier}
        WHERE _deleted = 1 AND _xid >= {from:UInt64} AND _xid < {to:UInt64}
          AND arrayExists((f, t) -> _xid >= f AND _xid < t, {froms:Array(UInt64)}, {tos:Array(UInt64)})
    )
    GROUP BY f.id
    HAVING known = 0
)
