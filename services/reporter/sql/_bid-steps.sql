-- Fragment (included as {{bid_steps}}): the bid history as steps, for pricing clicks at the bid in
-- force when they happened (docs/kpis.md, "Spend and cost"). One bid per (campaign,
-- valid_from), the larger id of a tie, as PostgreSQL's truth query orders them; per campaign its
-- first and last bid (a click before the first step costs the first bid, one without a time the
-- last). Small: a row per bid change.
bid_steps AS (
    SELECT campaign_id, valid_from, argMax(bid, id) AS bid
    FROM campaign_bids_current
    GROUP BY campaign_id, valid_from
),
bid_ends AS (
    SELECT campaign_id, argMin(bid, valid_from) AS first_bid, argMax(bid, valid_from) AS last_bid
    FROM bid_steps
    GROUP BY campaign_id
)
