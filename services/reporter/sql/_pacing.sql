-- Fragment (included as {{pacing}}): the pacing figures of every live campaign totals row
-- (docs/reporter.md, "Pacing"). Money stays Decimal; divisions truncate to the cent.
-- planned = budget x days_elapsed / days_total; projected = spend + run rate x days_remaining,
-- with run rate = spend / days_elapsed, i.e. spend x days_total / days_elapsed (spend itself
-- before any day elapsed). delivery compares the exact projection with the budget: above 110 %
-- over, below 90 % under, else on_track; NULL while no day of the flight has elapsed.
paced AS (
    SELECT
        campaign_id, campaign_name, advertiser_id, advertiser_name, budget, spend,
        start_date, end_date, days_total, days_elapsed, days_remaining, pacing, daily_used,
        period_status, report_date,
        if(days_total = 0, toDecimal128(0, 2), toDecimal128(budget, 2) * days_elapsed / days_total) AS planned,
        if(days_elapsed = 0, toDecimal128(spend, 2), toDecimal128(spend, 2) * days_total / days_elapsed) AS projected,
        multiIf(days_elapsed = 0, NULL,
                toDecimal128(spend, 2) * days_total * 10 > toDecimal128(budget, 2) * days_elapsed * 11, 'over',
                toDecimal128(spend, 2) * days_total * 10 < toDecimal128(budget, 2) * days_elapsed * 9, 'under',
                'on_track') AS delivery
    FROM advertiser_campaigns_totals_report FINAL
    WHERE _deleted = 0
      AND ({advertiser_id:Nullable(Int32)} IS NULL OR advertiser_id = {advertiser_id:Nullable(Int32)})
)
