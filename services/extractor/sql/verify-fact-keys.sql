-- The campaign and time of each id's current row in a fact table (impressions, clicks): what a
-- repair tombstone removes, which it names as the extractor's tombstones do (docs/events.md,
-- DELETE_COLUMNS). created_at as text, as ClickHouse parses it back from the tombstone's body.
SELECT id, campaign_id, toString(created_at) AS created_at
FROM {view:Identifier}
WHERE id IN {ids:Array(Int64)}
