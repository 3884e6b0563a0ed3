import { type Column, columnKind, olapValueOf } from "@adpipe/shared/columns";

// Both sides of the checksum, built from the columns PostgreSQL's catalog lists (docs/verifier.md,
// "The row text"): each row as its columns' canonical text, tab-separated, NULL as \N. A column's
// canonical form follows its PostgreSQL type: integers as decimals, amounts as integers of their
// smallest unit, floats in shortest round-trip form, booleans as 1/0, dates as YYYY-MM-DD, times
// as microseconds since the epoch (in UTC), anything else as PostgreSQL's own text. ClickHouse
// casts its column to the same form, whatever type it holds it in.

/** PostgreSQL's canonical text of one column (never NULL). */
export function pgCanonical(column: Column): string {
  const k = columnKind(column.type);
  const value = olapValueOf(column);
  const expr =
    k.kind === "decimal"
      ? `trunc(${value} * 1${"0".repeat(k.scale)})::text`
      : k.kind === "float"
        ? `replace(replace((${value})::float8::text, 'Infinity', 'inf'), 'NaN', 'nan')`
        : k.kind === "bool"
          ? `(${value})::int::text`
          : k.kind === "date"
            ? `to_char(${value}, 'YYYY-MM-DD')`
            : k.kind === "timestamp"
              ? `((extract(epoch from ${value}) * 1000000)::bigint)::text`
              : `(${value})::text`;
  return `coalesce(${expr}, '\\N')`;
}

/** ClickHouse's canonical text of the same column (never NULL). */
export function olapCanonical(column: Column): string {
  const k = columnKind(column.type);
  const c = column.name;
  const expr =
    k.kind === "decimal"
      ? `toString(toInt256(toDecimal256(${c}, ${k.scale}) * 1${"0".repeat(k.scale)}))`
      : k.kind === "float"
        ? `toString(toFloat64(${c}))`
        : k.kind === "bool"
          ? `toString(toUInt8(${c}))`
          : k.kind === "date"
            ? `toString(toDate32(${c}))`
            : k.kind === "timestamp"
              ? `toString(toUnixTimestamp64Micro(toDateTime64(${c}, 6, 'UTC')))`
              : k.kind === "text" && k.padded
                ? `trimRight(toString(${c}))`
                : `toString(${c})`;
  return `ifNull(${expr}, '\\\\N')`;
}

/** The canonical text of a row in PostgreSQL (a SQL expression over its columns). */
export const canonicalText = (columns: readonly Column[]) =>
  `concat_ws(E'\\t', ${columns.map(pgCanonical).join(", ")})`;

/** The same text in ClickHouse. */
export const olapCanonicalText = (columns: readonly Column[]) =>
  `concat(${columns.map(olapCanonical).join(", '\\t', ")})`;

/** The row hash: first 8 bytes of the MD5 of the canonical text, big-endian, signed. */
export const rowHash = (columns: readonly Column[]) =>
  `('x' || substr(md5(${canonicalText(columns)}), 1, 16))::bit(64)::bigint`;
