-- advertiser_campaigns_daily_ctr_report for the touched (campaign, day) keys, from the two daily
-- tables this rebuild has just written (FINAL: their newest rows), with advertiser_id and
-- start_date from the advertiser_campaigns dimension (current: rewritten earlier in the same
-- rebuild for every changed campaign). A key with neither impressions nor clicks becomes a
-- tombstone. The daily tables are read within the touched dates (their sort key is (campaign_id,
-- date)): a day's traffic over every campaign reads that day's rows, not each campaign's history;
-- a rebuild of whole campaigns (a campaign change) has no date bound.
INSERT INTO advertiser_campaigns_daily_ctr_report
    (campaign_id, date, advertiser_id, day_number, impressions, clicks, ctr, _version, _deleted)
WITH {{touched_days}},
imp AS (
    SELECT campaign_id, date, impressions AS n FROM advertiser_campaigns_impressions FINAL
    WHERE _deleted = 0
      AND ({full:UInt8} = 1
           OR (campaign_id IN {day_campaign_ids:Array(Int32)}
               AND date >= {min_date:Date32} AND date <= {max_date:Date32}))
),
clk AS (
    SELECT campaign_id, date, clicks AS n FROM advertiser_campaigns_clicks FINAL
    WHERE _deleted = 0
      AND ({full:UInt8} = 1
           OR (campaign_id IN {day_campaign_ids:Array(Int32)}
               AND date >= {min_date:Date32} AND date <= {max_date:Date32}))
),
campaigns AS (
    SELECT campaign_id AS id, advertiser_id, start_date FROM advertiser_campaigns FINAL
    WHERE _deleted = 0 AND ({full:UInt8} = 1 OR campaign_id IN {day_campaign_ids:Array(Int32)})
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
