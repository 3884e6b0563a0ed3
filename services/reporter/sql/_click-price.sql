-- Fragment (included as {{click_price}} after `FROM <clicks> AS f`, with {{bid_steps}} in the
-- WITH): joins each click f (campaign_id, created_at) to the bid in force at f.created_at, as
-- column `price`: the latest step at or before it; before the first step, the first bid; without
-- a time, the last bid; a campaign whose history has not arrived yet, its current bid (the
-- history's arrival reprices its clicks: touched-bid-pairs.sql). The statement runs with
-- join_use_nulls = 1 so a missing match is NULL, not 0.
ASOF LEFT JOIN bid_steps AS s ON f.campaign_id = s.campaign_id AND f.created_at >= s.valid_from
LEFT JOIN bid_ends AS e ON e.campaign_id = f.campaign_id
LEFT JOIN (SELECT id, bid FROM campaign_current) AS cc ON cc.id = f.campaign_id
