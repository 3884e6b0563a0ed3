-- advertiser_campaigns_{{fact}} (rebuild-impressions and rebuild-clicks, one file: sql.ts fills in
-- {{fact}}): one row per touched (campaign, day) with the day's count, the sum of its rows in
-- {{fact}}_buckets (recounted earlier in the same rebuild; read only within the touched dates,
-- the first column of that table's sort key, and campaigns); a key with no {{fact}} left becomes
-- a tombstone. advertiser_id comes from the advertiser_campaigns dimension (rewritten earlier in
-- the same rebuild for every changed campaign, so current; one small table instead of the
-- campaign view's FINAL and scalar subquery). cost: the day's clicks at the bid in force (0 for
-- impressions). One INSERT, one _version.
INSERT INTO advertiser_campaigns_{{fact}} (campaign_id, date, advertiser_id, {{fact}}, cost, _version, _deleted)
WITH {{touched_days}},
counts AS (
    SELECT campaign_id, assumeNotNull(b.date) AS date, sum(n) AS n, sum(ifNull(b.cost, 0)) AS cost
    FROM {{fact}}_buckets AS b FINAL
    WHERE _deleted = 0 AND b.date IS NOT NULL
      AND ({full:UInt8} = 1
           OR (b.date >= {min_date:Date32} AND b.date <= {max_date:Date32}
               AND campaign_id IN {day_campaign_ids:Array(Int64)}))
    GROUP BY campaign_id, date
),
campaigns AS (
    SELECT campaign_id AS id, advertiser_id FROM advertiser_campaigns FINAL
    WHERE _deleted = 0 AND ({full:UInt8} = 1 OR campaign_id IN {day_campaign_ids:Array(Int64)})
)
SELECT
    t.campaign_id,
    t.date,
    c.advertiser_id,
    n.n,
    n.cost,
    {version:UInt64},
    n.n = 0
FROM touched_days AS t
LEFT JOIN counts AS n ON n.campaign_id = t.campaign_id AND n.date = t.date
LEFT JOIN campaigns AS c ON c.id = t.campaign_id
SETTINGS join_use_nulls = 0
