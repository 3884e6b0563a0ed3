-- The first stored id at or above lo (raw table, read in primary-key order): skips empty id spans.
SELECT id FROM {table:Identifier} WHERE id >= {lo:Int64} ORDER BY id LIMIT 1
