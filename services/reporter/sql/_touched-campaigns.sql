-- Fragment (included as {{touched_campaigns}}): the campaign ids a rebuild writes. Explicit ids,
-- or with full = 1 every campaign that exists now or has a live report row (it gets a tombstone).
touched AS (
    SELECT arrayJoin({campaigns:Array(Int64)}) AS campaign_id
    UNION DISTINCT
    SELECT id AS campaign_id FROM campaign_current WHERE {full:UInt8} = 1
    UNION DISTINCT
    SELECT campaign_id FROM advertiser_campaigns FINAL WHERE {full:UInt8} = 1 AND _deleted = 0
    UNION DISTINCT
    SELECT campaign_id FROM advertiser_campaigns_totals_report FINAL WHERE {full:UInt8} = 1 AND _deleted = 0
)
