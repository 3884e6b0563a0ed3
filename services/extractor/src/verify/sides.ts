import { type ClickHouseClient, queryRows } from "@adpipe/shared/clickhouse";
import type { Column } from "@adpipe/shared/columns";
import { readTableSchema } from "@adpipe/shared/columns/pg-catalog";
import { isFactTable, type TableName } from "@adpipe/shared/contract";
import type { Pool } from "@adpipe/shared/pg";
import { rowHash } from "./canonical.ts";
import type { VerifyQueries } from "./queries.ts";

/** Count and checksum of an id range: equal on both sides means the same rows (with near certainty). */
export interface RangeSum {
  n: number;
  sum: string;
}

/** id → row hash (decimal) of the current rows. */
export type RowHashes = Map<number, string>;

/** What a PostgreSQL row or deletion needs for a repair. */
export interface PgRowState {
  version: bigint;
  xid: bigint;
}

// Every PostgreSQL statement here is a SELECT (the verifier never writes PostgreSQL; a test runs
// it as a role that may only SELECT). Table names come from the contract, never from input.
export function postgresSide(pool: Pool, table: TableName, columns: readonly Column[]) {
  const hash = rowHash(columns);
  return {
    async bounds(): Promise<{ lo: number; hi: number } | null> {
      const { rows } = await pool.query<{ lo: number | null; hi: number | null }>(
        `SELECT min(id) AS lo, max(id) AS hi FROM ${table}`,
      );
      const r = rows[0];
      return r?.lo == null || r.hi == null ? null : { lo: Number(r.lo), hi: Number(r.hi) };
    },
    /** The first id at or above `lo`, or null. */
    async next(lo: number): Promise<number | null> {
      const { rows } = await pool.query<{ id: number }>(
        `SELECT id FROM ${table} WHERE id >= $1 ORDER BY id LIMIT 1`,
        [lo],
      );
      return rows[0] ? Number(rows[0].id) : null;
    },
    async range(lo: number, hi: number): Promise<RangeSum> {
      const { rows } = await pool.query<{ n: string; sum: string }>(
        `SELECT count(*)::text AS n, coalesce(sum(${hash}), 0)::text AS sum FROM ${table} WHERE id >= $1 AND id < $2`,
        [lo, hi],
      );
      return { n: Number(rows[0]?.n ?? 0), sum: rows[0]?.sum ?? "0" };
    },
    /**
     * The ids of `[lo, hi)` whose row differs from `theirs` (ClickHouse's id → hash of the same
     * range), missing on either side included: the comparison runs in PostgreSQL, so only the
     * differing ids come back instead of every row's hash.
     */
    async differing(lo: number, hi: number, theirs: RowHashes): Promise<number[]> {
      const { rows } = await pool.query<{ id: number }>(
        `SELECT coalesce(t.id, c.id) AS id
         FROM (SELECT id, ${hash} AS h FROM ${table} WHERE id >= $1 AND id < $2) AS t
         FULL JOIN unnest($3::bigint[], $4::bigint[]) AS c(id, h) ON t.id = c.id
         WHERE t.id IS NULL OR c.id IS NULL OR t.h <> c.h`,
        [lo, hi, [...theirs.keys()], [...theirs.values()]],
      );
      return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    },
    /** Hashes, versions and transactions of the ids PostgreSQL has now (and a fact's campaign). */
    async ids(ids: number[]): Promise<Map<number, PgRowState & { h: string; campaignId: number | null }>> {
      const campaign = isFactTable(table) ? "campaign_id" : "NULL::bigint";
      const { rows } = await pool.query<{
        id: string;
        h: string;
        v: string;
        xid: string;
        campaign_id: string | null;
      }>(
        `SELECT id, (${hash})::text AS h, _version::text AS v, _xid::text AS xid, ${campaign} AS campaign_id FROM ${table} WHERE id = ANY($1::bigint[])`,
        [ids],
      );
      return new Map(
        rows.map((r) => [
          Number(r.id),
          {
            h: r.h,
            version: BigInt(r.v),
            xid: BigInt(r.xid),
            // bigint comes back as text: a number, as ClickHouse's side gives it (compared in repair.ts).
            campaignId: r.campaign_id === null ? null : Number(r.campaign_id),
          },
        ]),
      );
    },
    /** The latest recorded delete of each id (absent: PostgreSQL recorded none). */
    async deletions(ids: number[]): Promise<Map<number, PgRowState>> {
      const { rows } = await pool.query<{ id: number; v: string; xid: string }>(
        `SELECT DISTINCT ON (row_id) row_id AS id, _version::text AS v, _xid::text AS xid
         FROM adpipe_deletion WHERE table_name = $1 AND row_id = ANY($2::bigint[])
         ORDER BY row_id, _version DESC`,
        [table, ids],
      );
      return new Map(rows.map((r) => [Number(r.id), { version: BigInt(r.v), xid: BigInt(r.xid) }]));
    },
    /** The last version PostgreSQL issued (adpipe_version_seq): no row of any table has a greater one. */
    async lastVersion(): Promise<bigint> {
      const { rows } = await pool.query<{ v: string }>(
        "SELECT last_value::text AS v FROM adpipe_version_seq",
      );
      return BigInt(rows[0]?.v ?? "0");
    },
    /** The extractor's watermark: changes at or above it are not published yet (in flight). */
    async watermark(): Promise<bigint> {
      const { rows } = await pool.query<{ xid: string }>(
        "SELECT xid::text AS xid FROM adpipe_watermark WHERE table_name = $1",
        [table],
      );
      return BigInt(rows[0]?.xid ?? "0");
    },
  };
}

/** A fact's (campaign, time); null where the row has none. */
export interface FactKey {
  campaignId: number | null;
  createdAt: string | null;
}

export function clickhouseSide(
  clickhouse: ClickHouseClient,
  queries: VerifyQueries,
  table: TableName,
  columns: readonly Column[],
) {
  let built: ReturnType<VerifyQueries["table"]> | undefined;
  const q = () => (built ??= queries.table(columns));
  const view = `${table}_current`;
  const select = <T>(query: string, params: Record<string, unknown>) =>
    queryRows<T>(clickhouse, query, params);
  const hashes = (list: { id: number; h: string }[]): RowHashes =>
    new Map(list.map((r) => [Number(r.id), r.h]));
  return {
    select,
    async bounds(): Promise<{ lo: number; hi: number } | null> {
      const [r] = await select<{ lo: string; hi: string; n: number }>(queries.bounds, { table });
      return !r || Number(r.n) === 0 ? null : { lo: Number(r.lo), hi: Number(r.hi) };
    },
    async next(lo: number): Promise<number | null> {
      const [r] = await select<{ id: number }>(queries.next, { table, lo });
      return r ? Number(r.id) : null;
    },
    async range(lo: number, hi: number): Promise<RangeSum> {
      const [r] = await select<{ n: number; sum: string }>(q().range, { view, lo, hi });
      return { n: Number(r?.n ?? 0), sum: r?.sum ?? "0" };
    },
    async rows(lo: number, hi: number): Promise<RowHashes> {
      return hashes(await select<{ id: number; h: string }>(q().rows, { view, lo, hi }));
    },
    async ids(ids: number[]): Promise<RowHashes> {
      return hashes(await select<{ id: number; h: string }>(q().ids, { view, ids }));
    },
    /**
     * The campaign and time of each id's current row, for a fact table (none for the others):
     * what a tombstone for it removes.
     */
    async factKeys(ids: number[]): Promise<Map<number, FactKey>> {
      if (!isFactTable(table)) return new Map();
      const list = await select<{ id: number; campaign_id: number | null; created_at: string | null }>(
        queries.factKeys,
        { view, ids },
      );
      return new Map(
        list.map((r) => [
          Number(r.id),
          { campaignId: r.campaign_id === null ? null : Number(r.campaign_id), createdAt: r.created_at },
        ]),
      );
    },
    /** The greatest stored version of each id (any row, tombstones included) and its _xid. */
    async versions(ids: number[]): Promise<Map<number, PgRowState>> {
      const list = await select<{ id: number; version: string; xid: string }>(queries.versions, {
        table,
        ids,
      });
      return new Map(list.map((r) => [Number(r.id), { version: BigInt(r.version), xid: BigInt(r.xid) }]));
    },
    /** Every stored version of each id (raw table, tombstones included). */
    async stored(ids: number[]): Promise<Map<number, bigint[]>> {
      const list = await select<{ id: number; version: string }>(queries.stored, { table, ids });
      const out = new Map<number, bigint[]>();
      for (const r of list) {
        const id = Number(r.id);
        out.set(id, [...(out.get(id) ?? []), BigInt(r.version)]);
      }
      return out;
    },
    /**
     * Deletes the stored rows (id, version) from the table and, for a fact table, from its keyed
     * copy; waits until they are gone from what readers see (lightweight_deletes_sync).
     */
    async purge(rows: { id: number; version: bigint }[]): Promise<void> {
      if (rows.length === 0) return;
      const ids = rows.map((r) => r.id);
      const versions = rows.map((r) => r.version); // bigint: an unquoted number in the parameter
      const settings = { lightweight_deletes_sync: "2" } as const;
      await clickhouse.command({
        query: queries.purge,
        query_params: { table, ids, versions },
        clickhouse_settings: settings,
      });
      if (isFactTable(table)) {
        const buckets = [...new Set(ids.map((id) => Math.floor(id / KEYED_BUCKET_IDS)))];
        await clickhouse.command({
          query: queries.purgeKeyed,
          query_params: { table: `${table}_keyed`, buckets, ids, versions },
          clickhouse_settings: settings,
        });
      }
    },
  };
}

/** Ids per bucket of the keyed fact tables (migration 0008: intDiv(id, 65536)). */
const KEYED_BUCKET_IDS = 65536;

export type PostgresSide = ReturnType<typeof postgresSide>;
export type ClickHouseSide = ReturnType<typeof clickhouseSide>;

/**
 * The columns a verification compares: PostgreSQL's, as its catalog lists them now, that
 * ClickHouse's `_current` view has. `pending` are the rest: columns added in PostgreSQL that no
 * batch has carried to ClickHouse yet (the loader adds one with the table's next write).
 */
export async function comparedColumns(
  pool: Pool,
  clickhouse: ClickHouseClient,
  table: TableName,
): Promise<{ columns: Column[]; pending: string[] }> {
  const [schema, view] = await Promise.all([
    readTableSchema(pool, table),
    queryRows<{ name: string }>(
      clickhouse,
      "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {view:String}",
      { view: `${table}_current` },
    ),
  ]);
  const present = new Set(view.map((c) => c.name));
  return {
    columns: schema.columns.filter((c) => present.has(c.name)),
    pending: schema.columns.filter((c) => !present.has(c.name)).map((c) => c.name),
  };
}
