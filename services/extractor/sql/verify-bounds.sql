-- The id span ClickHouse holds for a table (raw: cheap, and a superset of the view's).
SELECT toString(min(id)) AS lo, toString(max(id)) AS hi, count() AS n
FROM {table:Identifier}
