-- GET /kpis/daily?campaign_id=, /reports/advertiser_campaigns_daily_ctr_report: one row per
-- campaign and day with traffic, optionally bounded by from/to (inclusive).
SELECT
    campaign_id, toString(date) AS date, advertiser_id, day_number, impressions, clicks, ctr
FROM advertiser_campaigns_daily_ctr_report FINAL
WHERE _deleted = 0
  AND ({campaign_id:Nullable(Int32)} IS NULL OR campaign_id = {campaign_id:Nullable(Int32)})
  AND ({from:Nullable(Date32)} IS NULL OR date >= {from:Nullable(Date32)})
  AND ({to:Nullable(Date32)} IS NULL OR date <= {to:Nullable(Date32)})
ORDER BY campaign_id, date
