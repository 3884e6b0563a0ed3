-- Batches the loader recorded as loaded (their rows are in the entity tables) that no rebuild
-- has reported yet: the heal step rebuilds their windows. Batches younger than grace_ms are left
-- to their loaded event, which is normally on its way. A redelivered batch has several rows.
-- Only batches loaded since `since_ms` (epoch milliseconds): every earlier one is known reported
-- (reporter.ts, heal). A batch is reported after it was loaded, give or take the moment its record
-- and its event race (table-loop.ts): reported rows ten minutes older than `since_ms` are enough.
SELECT table_name, batch_id, any(kind) AS kind, toString(min(from_xid)) AS from_xid, toString(max(to_xid)) AS to_xid
FROM loaded_batches
WHERE loaded_at < now64(3) - toIntervalMillisecond({grace_ms:UInt32})
  AND loaded_at >= fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC')
  AND (table_name, batch_id) NOT IN (
      SELECT table_name, batch_id FROM reported_batches
      WHERE reported_at >= fromUnixTimestamp64Milli({since_ms:Int64} - 600000, 'UTC'))
GROUP BY table_name, batch_id
ORDER BY min(loaded_at), table_name, batch_id
LIMIT {limit:UInt32}
