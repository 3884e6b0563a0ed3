import type { Column } from "@adpipe/shared/columns";
import { MAX_ID, type TableName } from "@adpipe/shared/contract";
import type { Pool } from "@adpipe/shared/pg";
import type { VerifyMode } from "@adpipe/shared/verify";
import { rowHash } from "./canonical.ts";
import { type CompareOptions, type CompareStats, compareSpans, findDifferences } from "./compare.ts";
import type { ClickHouseSide, PostgresSide } from "./sides.ts";

/**
 * Changed ids at most this far apart belong to one run. A run of at least RUN_MIN changed ids is
 * compared as a range (count and checksum: it reads at most RUN_GAP rows per changed id, in one
 * statement per side); fewer are compared id by id, so a scattered change never makes a run read
 * the chunks around it.
 */
const RUN_GAP = 16;
const RUN_MIN = 64;
/**
 * Ids per id-by-id comparison. They travel as ClickHouse query parameters, in the URL (about
 * 200 kB for 20,000 ids, under ClickHouse's 1 MiB `http_max_uri_size`). Large because scattered
 * ids touch nearly every granule of `_current` (read FINAL): each statement costs about one read
 * of the table in ClickHouse, whatever its number of ids.
 */
const ID_SLICE = 20_000;
/** More changed ids than this: the table is compared in full (the id list would not be cheaper). */
const MAX_CHANGED = 1_000_000;

export interface IncrementalPlan {
  /** `[lo, hi)` ranges, at most `chunkIds` wide, compared by count and checksum. */
  spans: [number, number][];
  /** Ids compared one by one. */
  singles: number[];
}

/** How an incremental run compares a set of changed ids (pure; docs/verifier.md). */
export function planIncremental(changed: readonly number[], chunkIds: number): IncrementalPlan {
  const ids = [...new Set(changed)].sort((a, b) => a - b);
  const plan: IncrementalPlan = { spans: [], singles: [] };
  let start = 0;
  for (let i = 1; i <= ids.length; i++) {
    if (i < ids.length && (ids[i] as number) - (ids[i - 1] as number) <= RUN_GAP) continue;
    const run = ids.slice(start, i);
    start = i;
    if (run.length < RUN_MIN) {
      plan.singles.push(...run);
      continue;
    }
    const hi = (run[run.length - 1] as number) + 1;
    for (let lo = run[0] as number; lo < hi; lo += chunkIds)
      plan.spans.push([lo, Math.min(lo + chunkIds, hi)]);
  }
  return plan;
}

/**
 * Where the next incremental run of a table starts: the PostgreSQL snapshot read before the
 * table was compared (`xmin:xmax:xip,...`; every transaction it sees had committed, so the
 * comparison saw its rows) and the ids the run left as in flight (they differed, but the extractor
 * had not published their change yet: not verified).
 */
export interface IncrementalMark {
  snapshot: string;
  pending: number[];
}

export async function currentSnapshot(pool: Pool): Promise<string> {
  const { rows } = await pool.query<{ s: string }>("SELECT pg_current_snapshot()::text AS s");
  return rows[0]?.s ?? "";
}

/**
 * The ids of `table` written (inserted, updated, moved) or deleted by transactions the mark's
 * snapshot does not see, through the `_xid` indexes (from the snapshot's xmin), plus the mark's
 * pending ids; null when the table was truncated since (every id may have changed) or more than
 * MAX_CHANGED ids changed.
 */
export async function changedIds(
  pool: Pool,
  table: TableName,
  mark: IncrementalMark,
): Promise<number[] | null> {
  // Table names come from the contract, never from input.
  const unseen =
    "_xid >= pg_snapshot_xmin($1::pg_snapshot) AND NOT pg_visible_in_snapshot(_xid, $1::pg_snapshot)";
  const { rows } = await pool.query<{ id: string | null }>(
    `(SELECT id::text AS id FROM ${table} WHERE ${unseen} LIMIT $3)
     UNION ALL
     (SELECT row_id::text FROM adpipe_deletion WHERE ${unseen} AND table_name = $2 LIMIT $3)`,
    [mark.snapshot, table, MAX_CHANGED + 1],
  );
  if (rows.length + mark.pending.length > MAX_CHANGED || rows.some((r) => r.id === null)) return null;
  const ids = [...rows.map((r) => Number(r.id)), ...mark.pending];
  if (ids.some((id) => Math.abs(id) > MAX_ID))
    throw new Error(`ids beyond ±${MAX_ID} (2^53 - 1) cannot be verified exactly`);
  return ids;
}

/** The ids of `ids` whose PostgreSQL row differs from `theirs` (ClickHouse's id → hash), missing on either side included. */
async function differingIds(
  pool: Pool,
  table: TableName,
  columns: readonly Column[],
  ids: number[],
  theirs: Map<number, string>,
): Promise<number[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT coalesce(t.id, c.id)::text AS id
     FROM (SELECT id, ${rowHash(columns)} AS h FROM ${table} WHERE id = ANY($1::bigint[])) AS t
     FULL JOIN unnest($2::bigint[], $3::bigint[]) AS c(id, h) ON t.id = c.id
     WHERE t.id IS NULL OR c.id IS NULL OR t.h <> c.h`,
    [ids, [...theirs.keys()], [...theirs.values()]],
  );
  return rows.map((r) => Number(r.id));
}

export interface TableCompare {
  pool: Pool;
  table: TableName;
  columns: readonly Column[];
  pg: PostgresSide;
  ch: ClickHouseSide;
  options: CompareOptions;
}

/**
 * Candidates of one table: every id (`since` undefined: a full pass), or only the ids changed
 * since the mark (ranges for runs of them, id by id for the rest). Falls back to a full pass where
 * the changes cannot be listed (a truncation, too many).
 */
export async function tableDifferences(
  { pool, table, columns, pg, ch, options }: TableCompare,
  since: IncrementalMark | undefined,
): Promise<{ ids: number[]; stats: CompareStats; mode: VerifyMode }> {
  const changed = since === undefined ? null : await changedIds(pool, table, since);
  if (changed === null) return { ...(await findDifferences(pg, ch, options)), mode: "full" };
  const plan = planIncremental(changed, options.chunkIds);
  const { ids, stats } = await compareSpans(pg, ch, plan.spans, options);
  for (let i = 0; i < plan.singles.length; i += ID_SLICE) {
    options.onChunk?.();
    const slice = plan.singles.slice(i, i + ID_SLICE);
    ids.push(...(await differingIds(pool, table, columns, slice, await ch.ids(slice))));
    stats.rows += slice.length;
  }
  return { ids: [...new Set(ids)].sort((a, b) => a - b), stats, mode: "incremental" };
}
