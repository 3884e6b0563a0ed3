-- The row hash: the first 8 bytes of the MD5 of the canonical text, read big-endian as a signed
-- 64-bit integer, exactly as PostgreSQL's ('x' || substr(md5(t), 1, 16))::bit(64)::bigint reads them.
reinterpretAsInt64(reverse(substring(MD5({{canon}}), 1, 8)))
