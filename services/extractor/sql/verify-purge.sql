-- Removes stored rows by (id, _version) (ids[i] with versions[i]): versions above what PostgreSQL
-- issued for the id (docs/verifier.md). A lightweight DELETE: the rows are masked at once and gone
-- at the next merge.
DELETE FROM {table:Identifier}
WHERE id IN {ids:Array(Int64)}
  AND has(arrayZip({ids:Array(Int64)}, {versions:Array(UInt64)}), tuple(toInt64(id), _version))
