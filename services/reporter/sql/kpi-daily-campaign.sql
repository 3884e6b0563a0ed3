-- GET /kpis/daily?campaign_id=, /reports/advertiser_campaigns_daily_ctr_report: one row per
-- (Table columns are qualified with r. where an output alias of the same name would shadow them.)
-- campaign and day with traffic, optionally bounded by from/to (inclusive).
SELECT
    campaign_id, toString(date) AS date, advertiser_id, day_number, impressions, clicks, ctr
FROM advertiser_campaigns_daily_ctr_report AS r FINAL
WHERE _deleted = 0
  AND ({campaign_id:Nullable(Int64)} IS NULL OR campaign_id = {campaign_id:Nullable(Int64)})
  AND ({advertiser_id:Nullable(Int64)} IS NULL OR r.advertiser_id = {advertiser_id:Nullable(Int64)})
  AND ({from:Nullable(Date32)} IS NULL OR r.date >= {from:Nullable(Date32)})
  AND ({to:Nullable(Date32)} IS NULL OR r.date <= {to:Nullable(Date32)})
ORDER BY campaign_id, date
