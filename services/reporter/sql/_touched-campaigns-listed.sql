-- Fragment: {{touched_campaigns}} when a rebuild lists its campaigns (not full; the "-listed"
-- query variants in sql.ts): the same ids as _touched-campaigns.sql without its reads of every
-- campaign, which cost even when they select nothing (bench:kpi).
touched AS (
    SELECT arrayJoin({campaigns:Array(Int64)}) AS campaign_id
)
