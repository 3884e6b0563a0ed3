-- Whether the reports need a full rebuild at start-up: campaigns exist but no report row does.
SELECT
    (SELECT count() FROM campaign_current) AS campaigns,
    (SELECT count() FROM advertiser_campaigns_totals_report FINAL WHERE _deleted = 0) AS reported
