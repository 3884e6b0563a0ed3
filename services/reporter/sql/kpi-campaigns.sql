-- GET /kpis/campaigns[/:id], /reports/advertiser_campaigns_totals_report: the newest row per
-- campaign (FINAL), money as Float64 of an exact two-decimal Decimal (prints as e.g. 12.34).
SELECT
    campaign_id, campaign_name, advertiser_id, advertiser_name,
    toFloat64(bid) AS bid, toFloat64(budget) AS budget,
    toString(start_date) AS start_date, toString(end_date) AS end_date,
    impressions, clicks, ctr,
    toFloat64(spend) AS spend, toFloat64(budget_remaining) AS budget_remaining, budget_used_pct,
    toString(budget_status) AS budget_status,
    days_total, days_elapsed, days_remaining,
    toFloat64(daily_norm) AS daily_norm, toFloat64(daily_used) AS daily_used, pacing,
    toFloat64(cpm) AS cpm, toFloat64(cpc) AS cpc,
    toString(period_status) AS period_status, toString(report_date) AS report_date
FROM advertiser_campaigns_totals_report FINAL
WHERE _deleted = 0
  AND ({advertiser_id:Nullable(Int32)} IS NULL OR advertiser_id = {advertiser_id:Nullable(Int32)})
  AND ({campaign_id:Nullable(Int32)} IS NULL OR campaign_id = {campaign_id:Nullable(Int32)})
ORDER BY campaign_id
