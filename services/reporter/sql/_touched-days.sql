-- Fragment (included as {{touched_days}}): the (campaign, day) keys a rebuild writes in the three
-- daily tables. Explicit pairs (from the recounted id buckets), plus every day of the campaigns in
-- all_day_campaigns (a campaign change moves advertiser_id and day_number on all its days), or
-- with full = 1 every day of every campaign. Days that have report rows are included so a day
-- whose traffic is gone gets a tombstone. The days of the facts come from the bucket counts
-- (recounted first, so current): small tables, read whole only for campaign changes and full
-- rebuilds. Campaign filters are literal parameter arrays, not IN (subquery): only a literal set
-- lets ClickHouse prune granules with the indexes.
touched_days AS (
    SELECT tupleElement(k, 1) AS campaign_id, tupleElement(k, 2) AS date
    FROM (SELECT arrayJoin(arrayZip({day_campaigns:Array(Int64)}, {day_dates:Array(Date32)})) AS k)
    UNION DISTINCT
    SELECT campaign_id, assumeNotNull(b.date) AS date FROM impressions_buckets AS b FINAL
    WHERE _deleted = 0 AND b.date IS NOT NULL
      AND ({full:UInt8} = 1 OR campaign_id IN {all_day_campaigns:Array(Int64)})
    UNION DISTINCT
    SELECT campaign_id, assumeNotNull(b.date) AS date FROM clicks_buckets AS b FINAL
    WHERE _deleted = 0 AND b.date IS NOT NULL
      AND ({full:UInt8} = 1 OR campaign_id IN {all_day_campaigns:Array(Int64)})
    UNION DISTINCT
    SELECT campaign_id, date FROM advertiser_campaigns_impressions FINAL
    WHERE _deleted = 0 AND ({full:UInt8} = 1 OR campaign_id IN {all_day_campaigns:Array(Int64)})
    UNION DISTINCT
    SELECT campaign_id, date FROM advertiser_campaigns_clicks FINAL
    WHERE _deleted = 0 AND ({full:UInt8} = 1 OR campaign_id IN {all_day_campaigns:Array(Int64)})
    UNION DISTINCT
    SELECT campaign_id, date FROM advertiser_campaigns_daily_ctr_report FINAL
    WHERE _deleted = 0 AND ({full:UInt8} = 1 OR campaign_id IN {all_day_campaigns:Array(Int64)})
)
