import { COLUMN_NAME, type Column, type TableSchema, TRACKING_COLUMNS, tableSchema } from "./columns.ts";

interface Queryable {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/** A column PostgreSQL has but adpipe cannot carry (its name needs quoting). */
export class UnsupportedColumnError extends Error {
  readonly code = "unsupported_column";
  constructor(
    readonly table: string,
    readonly column: string,
  ) {
    super(
      `${table}.${JSON.stringify(column)}: adpipe carries columns named like PostgreSQL's unquoted identifiers (lowercase letters, digits, _ and $); rename it (ALTER TABLE ${table} RENAME COLUMN ...) and the table flows again`,
    );
  }
}

// A domain is read as its base type; dropped columns are gone from the list.
const CATALOG = `
SELECT c.relname AS table, a.attname AS name,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod)
            ELSE format_type(a.atttypid, a.atttypmod) END AS type,
       NOT a.attnotnull AS nullable,
       pg_get_expr(d.adbin, d.adrelid) AS default
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY($1::text[])
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum`;

/**
 * The columns of each of `tables` in the current schema, in their order, without adpipe's
 * tracking columns. One catalog query for all of them (well under a millisecond).
 */
export async function readColumns<T extends string>(
  db: Queryable,
  tables: readonly T[],
): Promise<Record<T, Column[]>> {
  const { rows } = await db.query<{
    table: T;
    name: string;
    type: string;
    nullable: boolean;
    default: string | null;
  }>(CATALOG, [tables]);
  const out = Object.fromEntries(tables.map((t) => [t, [] as Column[]])) as Record<T, Column[]>;
  for (const r of rows) {
    if ((TRACKING_COLUMNS as readonly string[]).includes(r.name)) continue;
    if (!COLUMN_NAME.test(r.name)) throw new UnsupportedColumnError(r.table, r.name);
    out[r.table].push({
      name: r.name,
      type: r.type,
      nullable: r.nullable,
      ...(r.default === null ? {} : { default: r.default }),
    });
  }
  return out;
}

/** One table's schema as the catalog has it now. */
export async function readTableSchema(db: Queryable, table: string): Promise<TableSchema> {
  return tableSchema((await readColumns(db, [table]))[table] ?? []);
}
