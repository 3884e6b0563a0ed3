-- The canonical text of a campaign row: amounts in cents, dates as YYYY-MM-DD, times in microseconds.
concat(toString(id), '\t', name, '\t',
    toString(toInt64(toDecimal64(bid, 2) * 100)), '\t',
    toString(toInt64(toDecimal64(budget, 2) * 100)), '\t',
    ifNull(toString(start_date), '\\N'), '\t',
    ifNull(toString(end_date), '\\N'), '\t',
    ifNull(toString(advertiser_id), '\\N'), '\t',
    ifNull(toString(toUnixTimestamp64Micro(updated_at)), '\\N'), '\t',
    ifNull(toString(toUnixTimestamp64Micro(created_at)), '\\N'))
