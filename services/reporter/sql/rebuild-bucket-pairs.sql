-- {{fact}}_buckets (rebuild-impressions-pairs and rebuild-clicks-pairs, one file: sql.ts fills in
-- {{fact}}): recounts the listed (bucket, campaign) pairs, not whole buckets: what a delete or a
-- move costs (docs/reporter-buckets.md, "Id buckets"). It reads {{fact}}_keyed (migration 0008: every
-- version, sorted by (bucket, campaign_id, id)), each pair a range of about 65 rows when
-- campaigns interleave:
-- - the versions of the pairs, and the bucket's tombstones without a campaign (recorded before
--   PostgreSQL's migration 0008: they may outrank a version of any campaign), as two reads of a
--   UNION ALL rather than one read with an OR: the OR doubled the primary-key analysis of the
--   pairs' set (measured, docs/benchmarks.md). The two
--   conditions cannot both hold (a NULL campaign matches no pair), so the rows are the same;
-- - newer than the table's latest truncate, as {{fact}}_current;
-- - per id the newest of them (one argMax of the tuple, so campaign, time and flag come from one
--   row; the table keeps versions until it merges). A fact that
--   moved away from a pair has a newer tombstone there, which names that pair's campaign, so it
--   counts for the pair only while its newest version is there and live.
-- Every (day, campaign) of a pair gets its count; one the pair held before and no longer does
-- gets a tombstone. One INSERT, one _version.
INSERT INTO {{fact}}_buckets (date, bucket, campaign_id, n, cost, _version, _deleted)
WITH {{bid_steps}},
newest AS (
    SELECT bucket, id, argMax(tuple(campaign_id, created_at, _deleted), _version) AS v
    FROM (
        SELECT bucket, id, campaign_id, created_at, _deleted, _version FROM {{fact}}_keyed
        WHERE bucket IN {pair_bucket_set:Array(Int64)}
          AND (bucket, campaign_id) IN arrayZip({pair_buckets:Array(Int64)}, {pair_campaigns:Array(Int64)})
        UNION ALL
        SELECT bucket, id, campaign_id, created_at, _deleted, _version FROM {{fact}}_keyed
        WHERE bucket IN {pair_bucket_set:Array(Int64)} AND campaign_id IS NULL AND _deleted = 1
    )
    WHERE _version > (SELECT max(_version) FROM truncations WHERE table_name = '{{fact}}')
    GROUP BY bucket, id
),
-- cost: the sum of the live facts' prices, as in rebuild-buckets.sql.
counts AS (
    SELECT toDate32(assumeNotNull(f.created_at)) AS day, f.created_at IS NULL AS undated,
           f.bucket AS bucket, assumeNotNull(f.campaign_id) AS campaign_id, count() AS n, sum({{price}}) AS cost
    FROM (
        SELECT bucket, tupleElement(v, 1) AS campaign_id, tupleElement(v, 2) AS created_at
        FROM newest
        WHERE tupleElement(v, 3) = 0 AND tupleElement(v, 1) IS NOT NULL
    ) AS f
    {{price_join}}
    GROUP BY day, undated, bucket, campaign_id
),
-- Every key the pairs' stored rows ever named, any version (no FINAL, which measured slower,
-- docs/benchmarks.md): one already a tombstone gets another, which reads the same.
before AS (
    SELECT assumeNotNull(date) AS day, date IS NULL AS undated, bucket, campaign_id, toUInt64(0) AS n,
           toDecimal128(0, 2) AS cost
    FROM {{fact}}_buckets
    WHERE bucket IN {pair_bucket_set:Array(Int64)}
      AND (bucket, campaign_id) IN arrayZip({pair_buckets:Array(Int64)}, {pair_campaigns:Array(Int64)})
)
SELECT if(undated, NULL, day), bucket, campaign_id, sum(n) AS total, sum(cost), {version:UInt64}, total = 0
FROM (SELECT * FROM counts UNION ALL SELECT * FROM before)
GROUP BY day, undated, bucket, campaign_id
SETTINGS join_use_nulls = 1
