-- advertiser_campaigns_daily_ctr_report for the touched (campaign, day) keys: each day's
-- impressions and clicks are the sums of its bucket counts (recounted earlier in the same rebuild;
-- the same sums the daily tables take, so it runs beside their rewrite, not after it), read
-- within the touched dates and campaigns (the buckets sort by date first). advertiser_id and
-- start_date come from the advertiser_campaigns dimension (current: rewritten earlier in the same
-- rebuild for every changed campaign). A key with neither impressions nor clicks becomes a
-- tombstone.
INSERT INTO advertiser_campaigns_daily_ctr_report
    (campaign_id, date, advertiser_id, day_number, impressions, clicks, ctr, _version, _deleted)
WITH {{touched_days}},
imp AS (
    SELECT campaign_id, assumeNotNull(b.date) AS date, sum(n) AS n FROM impressions_buckets AS b FINAL
    WHERE _deleted = 0 AND b.date IS NOT NULL
      AND ({full:UInt8} = 1
           OR (b.date >= {min_date:Date32} AND b.date <= {max_date:Date32}
               AND campaign_id IN {day_campaign_ids:Array(Int64)}))
    GROUP BY campaign_id, date
),
clk AS (
    SELECT campaign_id, assumeNotNull(b.date) AS date, sum(n) AS n FROM clicks_buckets AS b FINAL
    WHERE _deleted = 0 AND b.date IS NOT NULL
      AND ({full:UInt8} = 1
           OR (b.date >= {min_date:Date32} AND b.date <= {max_date:Date32}
               AND campaign_id IN {day_campaign_ids:Array(Int64)}))
    GROUP BY campaign_id, date
),
campaigns AS (
    SELECT campaign_id AS id, advertiser_id, start_date FROM advertiser_campaigns FINAL
    WHERE _deleted = 0 AND ({full:UInt8} = 1 OR campaign_id IN {day_campaign_ids:Array(Int64)})
)
SELECT
    t.campaign_id,
    t.date,
    c.advertiser_id,
    if(c.start_date IS NULL, NULL, toInt32(dateDiff('day', assumeNotNull(c.start_date), t.date) + 1)),
    i.n,
    k.n,
    if(i.n = 0, 0., k.n / i.n),
    {version:UInt64},
    i.n = 0 AND k.n = 0
FROM touched_days AS t
LEFT JOIN imp AS i ON i.campaign_id = t.campaign_id AND i.date = t.date
LEFT JOIN clk AS k ON k.campaign_id = t.campaign_id AND k.date = t.date
LEFT JOIN campaigns AS c ON c.id = t.campaign_id
SETTINGS join_use_nulls = 0
