import { copyColumn } from "@adpipe/shared/columns";
import { DELETE_COLUMNS, type DeltaKind, type TableName, TRUNCATE_COLUMNS } from "@adpipe/shared/contract";
import { schemaColumns, type TableSchema } from "@adpipe/shared/messages/delta";
import { olapColumn } from "@adpipe/shared/olap-range";

/** A window of transaction ids: changes with `from <= _xid < to`. */
export interface XidWindow {
  from: string;
  to: string;
}

export interface DeltaQuery {
  kind: DeltaKind;
  columns: readonly string[];
  /** An upsert's columns as the catalog had them. */
  schema?: TableSchema;
  /** A `COPY (...) TO STDOUT` statement (text format, which ClickHouse reads as TabSeparated). */
  sql: string;
}

const XID = /^\d{1,20}$/;

/** adpipe_deletion's expression for a tombstone column whose name it does not share. */
const DELETION_SOURCE: Record<string, string> = { id: "row_id", _deleted: "1" };

// COPY takes no bind parameters, so the bounds are inlined; they are xid8 values this process
// read from PostgreSQL itself, and are checked to be plain decimals before use. Table and column
// names come from the contract and PostgreSQL's own catalog (plain identifiers), never from input.
function bounds({ from, to }: XidWindow): string {
  if (!XID.test(from) || !XID.test(to)) throw new Error(`invalid xid window ${from}..${to}`);
  return `_xid >= '${from}'::xid8 AND _xid < '${to}'::xid8`;
}

/**
 * The reads of one table's window: the deletion log's (truncates, then tombstones) and the
 * table's own (current rows, every column `schema` lists). Each is a range scan on an `_xid` index.
 */
export function deltaQueries(
  table: TableName,
  window: XidWindow,
  schema: TableSchema,
): { deletions: DeltaQuery[]; upsert: DeltaQuery & { select: string } } {
  const range = bounds(window);
  // Times ClickHouse cannot hold (infinity, years past 2299) travel as its range's ends.
  const list = [...schema.columns.map((c) => copyColumn(c)), "_version", "_xid"].join(", ");
  const select = `SELECT ${list} FROM ${table} WHERE ${range}`;
  return {
    deletions: [
      {
        kind: "truncate",
        columns: TRUNCATE_COLUMNS,
        sql: `COPY (SELECT table_name, _version, _xid FROM adpipe_deletion WHERE table_name = '${table}' AND row_id IS NULL AND ${range} ORDER BY _version) TO STDOUT`,
      },
      {
        kind: "delete",
        columns: DELETE_COLUMNS[table],
        // An impression's or click's tombstone names the campaign and time it leaves (PostgreSQL
        // migration 0008; NULL for deletes recorded before it).
        sql: `COPY (SELECT ${DELETE_COLUMNS[table].map((c) => DELETION_SOURCE[c] ?? olapColumn(c)).join(", ")} FROM adpipe_deletion WHERE table_name = '${table}' AND row_id IS NOT NULL AND ${range} ORDER BY _version) TO STDOUT`,
      },
    ],
    upsert: {
      kind: "upsert",
      columns: schemaColumns(schema),
      schema,
      select,
      sql: `COPY (${select}) TO STDOUT`,
    },
  };
}
