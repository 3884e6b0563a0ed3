// PostgreSQL's sums per id range (table-diff.ts) for every table, kept while a table's rows cannot
// have changed: after a fault the suite polls ClickHouse until it catches up, and PostgreSQL's side
// (millions of row digests, the comparison's costliest part) need not be computed again each time.
//
// Whether a table changed is told by its versions: every insert takes a fresh `_version` from
// `adpipe_version_seq` and every update a fresh one by trigger (shared/drizzle/0003), so a change
// adds versions never seen in the table and a delete removes one. The table's count, highest
// version and sum of 64-bit hashes of its versions, read in the same snapshot as its sums (one
// scan without digests, about 0.2 s per 2,000,000 rows against seconds), tell whether the kept
// sums still hold.

import type { TableName } from "@adpipe/shared/contract";
import type { Pool } from "@adpipe/shared/pg";
import { postgresRanges, type Ranges } from "./table-diff.ts";

/** What one waitForExact keeps between its comparisons (empty at first). */
export type PostgresSumsCache = Map<TableName, { versions: string; sums: Ranges }>;

const versions = (t: TableName) =>
  `SELECT count(*) || '/' || coalesce(max(_version), 0) || '/' || coalesce(sum(hashint8extended(_version, 29)), 0) AS v FROM ${t}`;

/** Every table's sums in one snapshot; `kept` lists the tables whose sums came from `cache`. */
export async function postgresSums(
  pool: Pool,
  tables: readonly TableName[],
  cache?: PostgresSumsCache,
): Promise<{ sums: Map<TableName, Ranges>; kept: TableName[] }> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    try {
      const sums = new Map<TableName, Ranges>();
      const kept: TableName[] = [];
      for (const t of tables) {
        const v = cache && (await client.query<{ v: string }>(versions(t))).rows[0]?.v;
        const before = cache?.get(t);
        if (v && before?.versions === v) {
          sums.set(t, before.sums);
          kept.push(t);
          continue;
        }
        const s = await postgresRanges(client, t);
        sums.set(t, s);
        if (v) cache?.set(t, { versions: v, sums: s });
      }
      return { sums, kept };
    } finally {
      await client.query("COMMIT");
    }
  } finally {
    client.release();
  }
}
