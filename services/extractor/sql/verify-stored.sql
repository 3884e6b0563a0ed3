-- Every stored version of the ids, raw (not the view; tombstones too): read before PostgreSQL, so
-- a version above what PostgreSQL then holds for the id is one it never issued for it and a
-- repair removes it (docs/verifier.md, "Versions above PostgreSQL's").
SELECT id, toString(_version) AS version
FROM {table:Identifier}
WHERE id IN {ids:Array(Int64)}
