-- After a full rebuild: how many campaigns and (campaign, day) keys the reports now hold, for its
-- result (a full rebuild names no keys of its own to count).
SELECT
    (SELECT count() FROM advertiser_campaigns_totals_report FINAL WHERE _deleted = 0) AS campaigns,
    (SELECT count() FROM advertiser_campaigns_daily_ctr_report FINAL WHERE _deleted = 0) AS days
