-- Each current row's hash in one id range (the leaf of a bisection).
SELECT id, toString({{hash}}) AS h
FROM {view:Identifier}
WHERE id >= {lo:Int64} AND id < {hi:Int64}
