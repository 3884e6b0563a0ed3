-- The canonical text of an advertiser row; PostgreSQL computes the same text (src/verify/canonical.ts).
concat(toString(id), '\t', name, '\t',
    ifNull(toString(toUnixTimestamp64Micro(updated_at)), '\\N'), '\t',
    ifNull(toString(toUnixTimestamp64Micro(created_at)), '\\N'))
