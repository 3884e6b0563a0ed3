-- GET /kpis/pacing/advertisers: the pacing of each advertiser's campaigns whose flight has begun
-- at {now} (elapsed_s > 0; a campaign not started yet has no plan to date), summed: budget, spend,
-- cost, planned and projected are sums of the campaigns' cent-rounded figures, delivery compares
-- the summed projection with the summed budget (same thresholds), NULL when no campaign has begun.
-- campaigns_under / _on_track / _over count the campaigns by their own flag.
WITH {{pacing}}
SELECT
    advertiser_id,
    advertiser_name,
    campaigns,
    paced_campaigns,
    toFloat64(bs) AS budget,
    toFloat64(s) AS spend,
    toFloat64(cs) AS cost,
    toFloat64(p) AS planned_to_date,
    if(p = 0, 0., toFloat64(cs) / toFloat64(p)) AS pacing,
    toFloat64(proj) AS projected_spend,
    if(bs = 0, 0., toFloat64(proj) / toFloat64(bs) * 100) AS projected_delivery_pct,
    multiIf(paced_campaigns = 0, NULL, proj * 10 > bs * 11, 'over', proj * 10 < bs * 9, 'under', 'on_track') AS delivery,
    campaigns_under, campaigns_on_track, campaigns_over
FROM (
    SELECT
        assumeNotNull(advertiser_id) AS advertiser_id,
        any(advertiser_name) AS advertiser_name,
        count() AS campaigns,
        countIf(elapsed_s > 0) AS paced_campaigns,
        sumIf(b, elapsed_s > 0) AS bs,
        sumIf(toDecimal128(spend, 2), elapsed_s > 0) AS s,
        sumIf(c, elapsed_s > 0) AS cs,
        sum(planned) AS p,
        sumIf(projected, elapsed_s > 0) AS proj,
        countIf(delivery = 'under') AS campaigns_under,
        countIf(delivery = 'on_track') AS campaigns_on_track,
        countIf(delivery = 'over') AS campaigns_over
    FROM paced
    WHERE advertiser_id IS NOT NULL
    GROUP BY advertiser_id
)
ORDER BY advertiser_id
