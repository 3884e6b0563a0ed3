-- {{fact}}_buckets (rebuild-impressions-buckets and rebuild-clicks-buckets, one file: sql.ts fills
-- in {{fact}}): recounts the listed id buckets (or, with full = 1, all of them) from
-- {{fact}}_current, a range read of its primary key (id) of 65,536 ids per bucket whatever the
-- history's length. Every (day, campaign) the bucket holds now gets its count; one it held before
-- (FINAL: its newest row) and no longer does gets a tombstone. One INSERT, one _version.
-- Both GROUP BYs key on (day, undated, bucket, campaign_id), all not Nullable, and turn the day
-- back into NULL for undated facts at the end: ClickHouse hashes fixed-width keys much faster
-- than a Nullable one (measured with bench:kpi, docs/benchmarks.md).
-- cost is the sum of the facts' prices ({{price}}: a click's bid in force, _click-price.sql; an
-- impression's 0).
INSERT INTO {{fact}}_buckets (date, bucket, campaign_id, n, cost, _version, _deleted)
WITH {{bid_steps}},
counts AS (
    SELECT toDate32(assumeNotNull(f.created_at)) AS day, f.created_at IS NULL AS undated,
           intDiv(f.id, {bucket_ids:UInt32}) AS bucket,
           assumeNotNull(f.campaign_id) AS campaign_id, count() AS n, sum({{price}}) AS cost
    FROM {{fact}}_current AS f
    {{price_join}}
    WHERE f.campaign_id IS NOT NULL
      AND ({full:UInt8} = 1
           OR (f.id >= {min_id:Int64} AND f.id < {max_id:Int64}
               AND intDiv(f.id, {bucket_ids:UInt32}) IN {buckets:Array(Int64)}))
    GROUP BY day, undated, bucket, campaign_id
),
before AS (
    SELECT assumeNotNull(date) AS day, date IS NULL AS undated, bucket, campaign_id, toUInt64(0) AS n,
           toDecimal128(0, 2) AS cost
    FROM {{fact}}_buckets FINAL
    WHERE _deleted = 0 AND ({full:UInt8} = 1 OR bucket IN {buckets:Array(Int64)})
)
SELECT if(undated, NULL, day), bucket, campaign_id, sum(n) AS total, sum(cost), {version:UInt64}, total = 0
FROM (SELECT * FROM counts UNION ALL SELECT * FROM before)
GROUP BY day, undated, bucket, campaign_id
SETTINGS join_use_nulls = 1
