-- impressions-bucket-days and clicks-bucket-days (one file: sql.ts fills in {{fact}}): the
-- (campaign, day) keys that a recount of these buckets, and of these (bucket, campaign) pairs, may
-- take counts from: every key any stored version of their rows names, tombstones included (no
-- FINAL). Read while the recount runs (rebuild.ts); with the keys of the windows' new versions
-- (touched-buckets.sql) they are every key the recount can change. A rebuild that failed after
-- the recount and is retried still finds a key the recount emptied, because its tombstone stays.
-- date is NULL for facts without created_at (totals only).
SELECT DISTINCT campaign_id, toString(date) AS date
FROM {{fact}}_buckets
WHERE bucket IN {buckets:Array(Int64)}
   OR (bucket IN {pair_bucket_set:Array(Int64)}
       AND (bucket, campaign_id) IN arrayZip({pair_buckets:Array(Int64)}, {pair_campaigns:Array(Int64)}))
