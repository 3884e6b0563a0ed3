-- Fragment: {{touched_days}} when a rebuild has only explicit (campaign, day) keys (no changed
-- campaign, not full; the "-listed" query variants in sql.ts): the same keys as _touched-days.sql
-- without its reads of whole campaigns, which cost even when they select nothing (bench:kpi,
-- docs/benchmarks.md).
touched_days AS (
    SELECT tupleElement(k, 1) AS campaign_id, tupleElement(k, 2) AS date
    FROM (SELECT arrayJoin(arrayZip({day_campaigns:Array(Int64)}, {day_dates:Array(Date32)})) AS k)
)
