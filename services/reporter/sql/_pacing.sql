-- Fragment (included as {{pacing}}): every live campaign totals row with its pacing by the clock
-- at {now} (docs/kpis.md, "Pacing"), the one definition every KPI read shares. A flight runs
-- from start_date 00:00 UTC to the end of end_date (days_total whole days); elapsed_s is the
-- seconds of it gone at {now} (0 before it starts, the whole flight after it ends).
-- Pacing is on cost (the clicks at the bid in force when they happened), not on the re-priced
-- spend. Money is exact Decimal, rounded once, half away from zero, to the cent (the scale-12
-- division truncates below a cent's 10^-10, which never changes the rounding); ratios are Float64
-- of the exact figures.
--   planned   = budget x elapsed_s / flight_s
--   run_rate  = cost per elapsed day (cost x 86,400 / elapsed_s; 0 before the start)
--   projected = cost x flight_s / elapsed_s (cost itself before the start)
--   pacing    = cost / planned (the two figures shown), unrounded; 0 while nothing is planned
--   delivery  = over above 110 % of the budget projected, under below 90 %, else on_track,
--               compared exactly; NULL before the flight starts
paced AS (
    SELECT
        *,
        toDecimal128(budget, 2) AS b,
        toDecimal128(cost, 2) AS c,
        toUInt64(days_total) * 86400 AS flight_s,
        if(days_total = 0, toUInt64(0),
           toUInt64(greatest(0, least(toInt64(days_total) * 86400,
               dateDiff('second', toDateTime64(assumeNotNull(start_date), 0, 'UTC'), {now:DateTime64(0, 'UTC')})))))
            AS elapsed_s,
        round(elapsed_s / 86400, 4) AS elapsed_days,
        if(flight_s = 0, toDecimal128(0, 2),
           toDecimal128(round(toDecimal128(budget, 12) * elapsed_s / flight_s, 2), 2)) AS planned,
        if(elapsed_s = 0, toDecimal128(0, 2),
           toDecimal128(round(toDecimal128(cost, 12) * 86400 / elapsed_s, 2), 2)) AS run_rate,
        if(elapsed_s = 0, c,
           toDecimal128(round(toDecimal128(cost, 12) * flight_s / elapsed_s, 2), 2)) AS projected,
        if(planned = 0, 0., toFloat64(c) / toFloat64(planned)) AS pacing_now,
        multiIf(elapsed_s = 0, NULL,
                c * flight_s * 10 > b * elapsed_s * 11, 'over',
                c * flight_s * 10 < b * elapsed_s * 9, 'under',
                'on_track') AS delivery
    FROM advertiser_campaigns_totals_report FINAL
    WHERE _deleted = 0
      AND ({advertiser_id:Nullable(Int64)} IS NULL OR advertiser_id = {advertiser_id:Nullable(Int64)})
)
