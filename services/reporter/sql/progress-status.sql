-- Per table: the highest window end loaded (loaded_batches) and reported (reported_batches), and
-- the loaded batches not reported yet with the age of the oldest, for GET /reports/status. Only
-- batches loaded since `since_ms` can be unreported (the heal step's mark; unreported-batches.sql).
SELECT l.table_name AS table_name,
       toString(l.loaded) AS loaded_watermark,
       toString(r.reported) AS reported_watermark,
       toUInt64(u.unreported) AS unreported_batches,
       if(u.unreported = 0, 0, round(greatest(0, dateDiff('millisecond', u.oldest, now64(3))) / 1000, 3)) AS lag_seconds
FROM (SELECT table_name, max(to_xid) AS loaded FROM loaded_batches GROUP BY table_name) AS l
LEFT JOIN (SELECT table_name, max(to_xid) AS reported FROM reported_batches GROUP BY table_name) AS r
    ON r.table_name = l.table_name
LEFT JOIN (
    SELECT table_name, count() AS unreported, min(first_loaded) AS oldest
    FROM (
        SELECT table_name, batch_id, min(loaded_at) AS first_loaded
        FROM loaded_batches
        WHERE loaded_at >= fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC')
          AND (table_name, batch_id) NOT IN (
              SELECT table_name, batch_id FROM reported_batches
              WHERE reported_at >= fromUnixTimestamp64Milli({since_ms:Int64} - 600000, 'UTC'))
        GROUP BY table_name, batch_id
    )
    GROUP BY table_name
) AS u ON u.table_name = l.table_name
ORDER BY table_name
SETTINGS join_use_nulls = 1
