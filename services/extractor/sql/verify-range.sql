-- Count and order-independent checksum (exact sum of the row hashes) of one id range of a
-- table's current rows (deletes and truncations applied).
SELECT count() AS n, toString(sum(toInt128({{hash}}))) AS sum
FROM {view:Identifier}
WHERE id >= {lo:Int64} AND id < {hi:Int64}
