-- The greatest report (or bucket count) version written so far: a restarted reporter's versions start above it.
SELECT greatest(
    (SELECT max(_version) FROM advertiser_campaigns),
    (SELECT max(_version) FROM advertiser_campaigns_impressions),
    (SELECT max(_version) FROM advertiser_campaigns_clicks),
    (SELECT max(_version) FROM advertiser_campaigns_totals_report),
    (SELECT max(_version) FROM advertiser_campaigns_daily_ctr_report),
    (SELECT max(_version) FROM impressions_buckets),
    (SELECT max(_version) FROM clicks_buckets)
) AS version
