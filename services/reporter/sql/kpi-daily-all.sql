-- GET /kpis/daily without campaign_id: every campaign (of advertiser_id, when given) summed per
-- day; ctr of the sums.
SELECT
    toString(date) AS date,
    sum(impressions) AS impressions,
    sum(clicks) AS clicks,
    if(impressions = 0, 0., clicks / impressions) AS ctr
FROM advertiser_campaigns_daily_ctr_report AS r FINAL
WHERE _deleted = 0
  AND ({advertiser_id:Nullable(Int64)} IS NULL OR r.advertiser_id = {advertiser_id:Nullable(Int64)})
  AND ({from:Nullable(Date32)} IS NULL OR r.date >= {from:Nullable(Date32)})
  AND ({to:Nullable(Date32)} IS NULL OR r.date <= {to:Nullable(Date32)})
GROUP BY r.date
ORDER BY r.date
