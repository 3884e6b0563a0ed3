// Rows of PostgreSQL copied into ClickHouse's table as the loader would leave them, independently
// of the comparison's canonical text: each value as PostgreSQL prints it, times and dates mapped
// into ClickHouse's range. For the comparison's tests and its benchmark.
import type { ClickHouseClient } from "@adpipe/shared/clickhouse";
import type { TableName } from "@adpipe/shared/contract";
import { olapValue } from "@adpipe/shared/olap-range";
import type { Pool } from "@adpipe/shared/pg";
import { COMPARED_COLUMNS } from "./canonical.ts";

const FORMAT: Record<string, string> = {
  created_at: "YYYY-MM-DD HH24:MI:SS.US",
  updated_at: "YYYY-MM-DD HH24:MI:SS.US",
  valid_from: "YYYY-MM-DD HH24:MI:SS.US",
  start_date: "YYYY-MM-DD",
  end_date: "YYYY-MM-DD",
};

/** The rows of `table` where `where` holds, into ClickHouse as `version` (a tombstone with `deleted`). */
export async function copyToClickHouse(
  pool: Pool,
  ch: ClickHouseClient,
  table: TableName,
  { where = "true", version = 1, deleted = 0 } = {},
) {
  const cols = COMPARED_COLUMNS[table].map((c) => {
    const f = FORMAT[c];
    return `${f ? `to_char(${olapValue(c)}, '${f}')` : `${c}::text`} AS ${c}`;
  });
  const rows = (await pool.query(`SELECT ${cols.join(", ")} FROM ${table} WHERE ${where}`)).rows;
  await ch.insert({
    table,
    values: rows.map((r) => ({ ...r, _version: version, _xid: version, _deleted: deleted })),
    format: "JSONEachRow",
  });
}
