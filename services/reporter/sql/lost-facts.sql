-- Deleted ids of the loaded windows whose (campaign, day) before the change may be unknown:
-- - a background merge can collapse a row's older versions into its delete tombstone (which has
--   no campaign) before the reporter looks;
-- - a row that moved to another campaign or day arrives as a tombstone plus its new version
--   (PostgreSQL's update trigger records the move that way), and a merge keeps only the new one.
-- The caller rebuilds everything when any is found: exact, and rare (the generator only appends;
-- a reset is a truncate, which rebuilds fully anyway). Also counts a row that never had a
-- campaign (harmless: a full rebuild).
SELECT count() AS lost
FROM (
    SELECT f.id, countIf(f.campaign_id IS NOT NULL) AS known, argMax(f._deleted, f._version) AS last_deleted
    FROM {table:Identifier} AS f
    WHERE f.id IN (
        SELECT id FROM {table:Identifier}
        WHERE _deleted = 1 AND _xid >= {from:UInt64} AND _xid < {to:UInt64}
          AND arrayExists((f, t) -> _xid >= f AND _xid < t, {froms:Array(UInt64)}, {tos:Array(UInt64)})
    )
    GROUP BY f.id
    HAVING known = 0 OR last_deleted = 0
)
