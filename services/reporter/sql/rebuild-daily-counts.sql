-- advertiser_campaigns_{{fact}} (rebuild-impressions and rebuild-clicks, one file: sql.ts fills in
-- {{fact}}): one row per touched (campaign, day) with the day's count from {{fact}}_current (read
-- only within the touched campaigns and dates); a key with no {{fact}} left becomes a tombstone.
-- One INSERT, one _version.
INSERT INTO advertiser_campaigns_{{fact}} (campaign_id, date, advertiser_id, {{fact}}, _version, _deleted)
WITH {{touched_days}},
counts AS (
    SELECT assumeNotNull(campaign_id) AS campaign_id, toDate32(assumeNotNull(created_at)) AS date, count() AS n
    FROM {{fact}}_current AS f
    WHERE f.campaign_id IS NOT NULL AND f.created_at IS NOT NULL
      AND ({full:UInt8} = 1
           OR (f.campaign_id IN {day_campaign_ids:Array(Int32)}
               AND f.created_at >= toDateTime64({min_date:Date32}, 6, 'UTC')
               AND f.created_at < toDateTime64({max_date:Date32} + 1, 6, 'UTC')))
    GROUP BY campaign_id, date
),
campaigns AS (
    SELECT id, advertiser_id FROM campaign_current WHERE id IN (SELECT campaign_id FROM touched_days)
)
SELECT
    t.campaign_id,
    t.date,
    c.advertiser_id,
    n.n,
    {version:UInt64},
    n.n = 0
FROM touched_days AS t
LEFT JOIN counts AS n ON n.campaign_id = t.campaign_id AND n.date = t.date
LEFT JOIN campaigns AS c ON c.id = t.campaign_id
SETTINGS join_use_nulls = 0
