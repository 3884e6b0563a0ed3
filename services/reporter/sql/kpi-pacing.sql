-- GET /kpis/pacing: per campaign, cost against the plan to date and the projection to the end of
-- the flight, at {now} (fragment _pacing.sql). projected_delivery_pct is the unrounded projection
-- against the budget (0 with a zero budget).
WITH {{pacing}}
SELECT
    campaign_id, campaign_name, advertiser_id, advertiser_name,
    toString(start_date) AS start_date, toString(end_date) AS end_date,
    days_total, days_elapsed, days_remaining, elapsed_days,
    toFloat64(budget) AS budget, toFloat64(spend) AS spend, toFloat64(cost) AS cost,
    toFloat64(planned) AS planned_to_date,
    pacing_now AS pacing,
    toFloat64(run_rate) AS run_rate,
    toFloat64(projected) AS projected_spend,
    if(budget = 0, 0.,
       if(elapsed_s = 0, toFloat64(cost), toFloat64(cost) * flight_s / elapsed_s) / toFloat64(budget) * 100)
        AS projected_delivery_pct,
    delivery,
    toString(period_status) AS period_status, toString(report_date) AS report_date
FROM paced
ORDER BY campaign_id
