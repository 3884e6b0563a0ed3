-- GET /kpis/daily without campaign_id: every campaign summed per day; ctr of the sums.
SELECT
    toString(date) AS date,
    sum(impressions) AS impressions,
    sum(clicks) AS clicks,
    if(impressions = 0, 0., clicks / impressions) AS ctr
FROM advertiser_campaigns_daily_ctr_report FINAL
WHERE _deleted = 0
  AND ({from:Nullable(Date32)} IS NULL OR date >= {from:Nullable(Date32)})
  AND ({to:Nullable(Date32)} IS NULL OR date <= {to:Nullable(Date32)})
GROUP BY date
ORDER BY date
