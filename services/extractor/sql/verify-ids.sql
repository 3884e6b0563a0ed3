-- Each current row's hash for a list of ids (confirming differences).
SELECT id, toString({{hash}}) AS h
FROM {view:Identifier}
WHERE id IN {ids:Array(Int64)}
