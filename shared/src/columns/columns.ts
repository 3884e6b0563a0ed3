import { clampToOlap } from "../clickhouse/olap-range.ts";

/**
 * A replicated table's columns as PostgreSQL's catalog has them, and what each becomes in
 * ClickHouse (docs/schema-changes.md). The extractor reads them at every cycle, the delta header
 * `Adpipe-Schema` carries them, the loader adds what ClickHouse lacks, and the verifier builds
 * each side's row text from them: no hand-kept column list.
 */

/** One column of a replicated table (adpipe's `_version` and `_xid` excluded). */
export interface Column {
  name: string;
  /** PostgreSQL's `format_type` of the column (of a domain: of its base type). */
  type: string;
  nullable: boolean;
  /** The column's default as PostgreSQL prints it (`pg_get_expr`), if it has one. */
  default?: string;
}

/** adpipe's bookkeeping columns: every upsert carries them last, and no schema lists them. */
export const TRACKING_COLUMNS = ["_version", "_xid"] as const;

/** Column names a delta may carry: PostgreSQL's unquoted identifiers (63 bytes at most). */
export const COLUMN_NAME = /^[a-z_][a-z0-9_$]{0,62}$/;

/** How a column's values are written, compared and stored: a family of types. */
export type ColumnKind =
  | { kind: "int"; bits: 16 | 32 | 64 }
  | { kind: "decimal"; precision: number; scale: number }
  | { kind: "float"; bits: 32 | 64 }
  | { kind: "bool" }
  | { kind: "date" }
  | { kind: "timestamp"; zone: boolean }
  | { kind: "uuid" }
  | { kind: "text"; padded?: boolean };

const INT: Record<string, 16 | 32 | 64> = { smallint: 16, integer: 32, bigint: 64 };

/** What a PostgreSQL type is to adpipe; anything it does not know travels as PostgreSQL's text. */
export function columnKind(type: string): ColumnKind {
  const bits = INT[type];
  if (bits) return { kind: "int", bits };
  const numeric = /^numeric\((\d+),(\d+)\)$/.exec(type);
  if (numeric && Number(numeric[1]) <= 76)
    return { kind: "decimal", precision: Number(numeric[1]), scale: Number(numeric[2]) };
  if (type === "real") return { kind: "float", bits: 32 };
  if (type === "double precision") return { kind: "float", bits: 64 };
  if (type === "boolean") return { kind: "bool" };
  if (type === "date") return { kind: "date" };
  if (/^timestamp(\(\d\))? without time zone$/.test(type)) return { kind: "timestamp", zone: false };
  if (/^timestamp(\(\d\))? with time zone$/.test(type)) return { kind: "timestamp", zone: true };
  if (type === "uuid") return { kind: "uuid" };
  // character(n) keeps its padding in COPY's text; its cast to text drops it.
  if (/^character(\(\d+\))?$/.test(type)) return { kind: "text", padded: true };
  // text, varchar, numeric without precision, json, arrays, enums, intervals...
  return { kind: "text" };
}

/** The ClickHouse type that holds the column's values exactly (Nullable unless NOT NULL). */
export function olapType(column: Column): string {
  const k = columnKind(column.type);
  const base =
    k.kind === "int"
      ? `Int${k.bits}`
      : k.kind === "decimal"
        ? `Decimal(${k.precision}, ${k.scale})`
        : k.kind === "float"
          ? `Float${k.bits}`
          : k.kind === "bool"
            ? "Bool"
            : k.kind === "date"
              ? "Date32"
              : k.kind === "timestamp"
                ? "DateTime64(6, 'UTC')"
                : k.kind === "uuid"
                  ? "UUID"
                  : "String";
  return column.nullable ? `Nullable(${base})` : base;
}

/**
 * The column's PostgreSQL default as a ClickHouse literal, when it is a constant (a quoted
 * string, a number, a boolean, optionally cast): rows written before the column existed read it
 * in both databases. Undefined for anything else (`now()`, a sequence): those rows read the
 * type's default in ClickHouse until the verifier repairs them.
 */
export function olapDefault(column: Column): string | undefined {
  const d = column.default?.trim();
  if (d === undefined) return undefined;
  const literal = /^'((?:[^']|'')*)'(?:::[a-z0-9 ()_,"[\]]+)?$/.exec(d);
  if (literal) {
    const text = (literal[1] as string).replaceAll("''", "'");
    return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
  }
  const number = /^\(?(-?\d+(?:\.\d+)?)\)?(?:::[a-z0-9 (),]+)?$/.exec(d);
  if (number) return number[1];
  if (d === "true" || d === "false") return d;
  return undefined;
}

/** A table's replicated columns (without `_version`, `_xid`) and their fingerprint. */
export interface TableSchema {
  fingerprint: string;
  columns: Column[];
}

export const tableSchema = (columns: Column[]): TableSchema => ({
  fingerprint: fingerprint(columns),
  columns,
});

/** A stable digest of the columns (names, types, nullability, defaults), as lowercase hex. */
export function fingerprint(columns: readonly Column[]): string {
  const text = columns.map(
    (c) => `${c.name} ${c.type} ${c.nullable ? "null" : "not null"} ${c.default ?? ""}`,
  );
  return Bun.hash(text.join("\n")).toString(16).padStart(16, "0");
}

/**
 * The column's value as PostgreSQL reads it for ClickHouse (no alias): a time with a zone in UTC,
 * and times and dates ClickHouse cannot hold mapped to its range's ends (olap-range.ts).
 */
export function olapValueOf(column: Column, prefix = ""): string {
  const k = columnKind(column.type);
  const ref = `${prefix}${column.name}`;
  if (k.kind === "date") return clampToOlap(ref, "date");
  if (k.kind === "timestamp") return clampToOlap(k.zone ? `(${ref} AT TIME ZONE 'UTC')` : ref, "timestamp");
  return ref;
}

/** The column in a COPY's select list: olapValueOf under the column's own name. */
export function copyColumn(column: Column, prefix = ""): string {
  const value = olapValueOf(column, prefix);
  return value === `${prefix}${column.name}` ? value : `${value} AS ${column.name}`;
}
