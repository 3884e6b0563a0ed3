import { TRUNCATIONS_TABLE } from "../contract.ts";

/** Columns of a versioned table that its `_current` view leaves out (adpipe's bookkeeping). */
export const VERSION_COLUMNS = ["_version", "_xid", "_deleted"] as const;

/**
 * The `<table>_current` view over a versioned table: its latest version of each id, deletes and
 * truncations applied, with `columns` (the table's own, in its order). The same text as the
 * numbered migrations' views (0002, 0011), so the loader can recreate a view after adding a column.
 * `database`, `table` and `columns` are identifiers from the contract and ClickHouse's own catalog.
 */
export function currentViewSql(database: string, table: string, columns: readonly string[]): string {
  return `CREATE OR REPLACE VIEW ${database}.${table}_current AS
SELECT ${columns.join(", ")}
FROM ${database}.${table} FINAL
WHERE _version > (SELECT max(_version) FROM ${database}.${TRUNCATIONS_TABLE} WHERE table_name = '${table}')`;
}
