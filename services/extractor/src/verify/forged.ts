import type { ClickHouseSide, PostgresSide } from "./sides.ts";

/** A stored ClickHouse row PostgreSQL never issued for its id: a repair removes it. */
export interface ForgedRow {
  id: number;
  version: bigint;
}

/**
 * The stored versions of `ids` that lie above what PostgreSQL issued for each id
 * (docs/verifier.md, "Versions above PostgreSQL's"). ClickHouse is read first, then PostgreSQL:
 * a version adpipe loaded was issued before that read, so it is at most PostgreSQL's
 * version of the id read afterwards (a row's every write takes a new, greater version from
 * adpipe_version_seq), at most the recorded delete of an id PostgreSQL no longer has, and at
 * most the sequence's last value. Anything above is a foreign write or corruption; left in place
 * it would outrank every later real change of the id until the sequence passes it.
 * Ids in flight (changed at or above the extractor's watermark) are left to the next run.
 */
export async function forgedVersions(
  pg: PostgresSide,
  ch: ClickHouseSide,
  ids: number[],
): Promise<ForgedRow[]> {
  const out: ForgedRow[] = [];
  for (let i = 0; i < ids.length; i += SLICE) {
    const slice = ids.slice(i, i + SLICE);
    const stored = await ch.stored(slice);
    if (stored.size === 0) continue;
    const shown = slice.filter((id) => stored.has(id));
    const pgRows = await pg.ids(shown);
    const watermark = await pg.watermark();
    const gone = shown.filter((id) => !pgRows.has(id));
    const deletions = gone.length > 0 ? await pg.deletions(gone) : new Map();
    const last = await pg.lastVersion();
    for (const id of shown) {
      const p = pgRows.get(id);
      const d = deletions.get(id);
      if ((p && p.xid >= watermark) || (!p && d && d.xid >= watermark)) continue;
      const ceiling: bigint = p ? p.version : d ? d.version : last;
      for (const version of stored.get(id) ?? []) if (version > ceiling) out.push({ id, version });
    }
  }
  return out;
}

const SLICE = 5000;
