-- The canonical text of a fact row (impressions, clicks): times in microseconds since the epoch.
concat(toString(id), '\t',
    ifNull(toString(campaign_id), '\\N'), '\t',
    ifNull(toString(toUnixTimestamp64Micro(created_at)), '\\N'))
