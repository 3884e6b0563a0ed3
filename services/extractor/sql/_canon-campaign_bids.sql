-- The canonical text of a bid history row: the bid in cents, valid_from in microseconds.
concat(toString(id), '\t', toString(campaign_id), '\t',
    toString(toInt64(toDecimal64(bid, 2) * 100)), '\t',
    toString(toUnixTimestamp64Micro(valid_from)))
