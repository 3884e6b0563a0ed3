-- Batches the loader recorded as loaded (their rows are in the entity tables) that no rebuild
-- has reported yet: the heal step rebuilds their windows. Batches younger than grace_ms are left
-- to their loaded event, which is normally on its way. A redelivered batch has several rows.
SELECT table_name, batch_id, any(kind) AS kind, toString(min(from_xid)) AS from_xid, toString(max(to_xid)) AS to_xid
FROM loaded_batches
WHERE loaded_at < now64(3) - toIntervalMillisecond({grace_ms:UInt32})
  AND (table_name, batch_id) NOT IN (SELECT table_name, batch_id FROM reported_batches)
GROUP BY table_name, batch_id
ORDER BY min(loaded_at), table_name, batch_id
LIMIT {limit:UInt32}
