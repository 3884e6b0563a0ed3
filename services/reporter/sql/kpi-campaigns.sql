-- GET /kpis/campaigns[/:id], /reports/advertiser_campaigns_totals_report: the newest row per
-- campaign with its pacing at {now} (fragment _pacing.sql). Money as Float64 of an exact
-- two-decimal Decimal (prints as e.g. 12.34), stored or computed once by the one rounding rule.
-- spend is the original's (clicks x current bid); cost the clicks at the bid in force.
WITH {{pacing}}
SELECT
    campaign_id, campaign_name, advertiser_id, advertiser_name,
    toFloat64(bid) AS bid, toFloat64(budget) AS budget,
    toString(start_date) AS start_date, toString(end_date) AS end_date,
    impressions, clicks, ctr,
    toFloat64(spend) AS spend, toFloat64(cost) AS cost,
    toFloat64(budget_remaining) AS budget_remaining, budget_used_pct,
    toString(budget_status) AS budget_status,
    days_total, days_elapsed, days_remaining, elapsed_days,
    toFloat64(daily_norm) AS daily_norm, toFloat64(daily_used) AS daily_used,
    toFloat64(planned) AS planned_to_date, pacing_now AS pacing,
    toFloat64(cpm) AS cpm, toFloat64(cpc) AS cpc,
    toString(period_status) AS period_status, toString(report_date) AS report_date
FROM paced
WHERE ({campaign_id:Nullable(Int64)} IS NULL OR campaign_id = {campaign_id:Nullable(Int64)})
ORDER BY campaign_id
