-- advertiser_campaigns for the touched campaigns; a campaign that no longer exists becomes a
-- tombstone.
INSERT INTO advertiser_campaigns
    (campaign_id, campaign_name, advertiser_id, advertiser_name, bid, budget, start_date, end_date, _version, _deleted)
WITH {{touched_campaigns}},
campaigns AS (
    SELECT c.id AS id, c.name AS name, c.advertiser_id AS advertiser_id, a.name AS advertiser_name,
           a.found AS advertiser_found, c.bid AS bid, c.budget AS budget, c.start_date AS start_date,
           c.end_date AS end_date, 1 AS found
    FROM campaign_current AS c
    LEFT JOIN (SELECT id, name, 1 AS found FROM advertiser_current) AS a ON a.id = c.advertiser_id
    WHERE c.id IN (SELECT campaign_id FROM touched)
)
SELECT
    t.campaign_id,
    c.name,
    c.advertiser_id,
    if(c.advertiser_found = 1, c.advertiser_name, NULL),
    c.bid,
    c.budget,
    c.start_date,
    c.end_date,
    {version:UInt64},
    c.found = 0
FROM touched AS t
LEFT JOIN campaigns AS c ON c.id = t.campaign_id
SETTINGS join_use_nulls = 0
