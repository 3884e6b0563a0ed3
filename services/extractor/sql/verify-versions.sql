-- Every stored version of the ids, raw (not the view): the greatest version a repair must beat,
-- and the transaction of that version (a tombstone's _xid when PostgreSQL recorded no delete).
SELECT id, toString(max(_version)) AS version, toString(argMax(_xid, _version)) AS xid
FROM {table:Identifier}
WHERE id IN {ids:Array(Int64)}
GROUP BY id
