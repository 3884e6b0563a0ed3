/**
 * PostgreSQL takes times ClickHouse cannot hold: `infinity`, `-infinity`, and years before 1900 or
 * after 2299 (DateTime64 and Date32 span 1900-01-01 to 2299-12-31). Such a value travels as the
 * end of ClickHouse's range it lies beyond, so it loads instead of being dead-lettered, and every
 * comparison with PostgreSQL (the verifier's row text, its report figures, the truth tests) reads
 * PostgreSQL's side through the same mapping: a fact at `infinity` counts on 2299-12-31.
 */
export const OLAP_TIME_MIN = "1900-01-01 00:00:00";
export const OLAP_TIME_MAX = "2299-12-31 23:59:59.999999";
export const OLAP_DATE_MIN = "1900-01-01";
export const OLAP_DATE_MAX = "2299-12-31";

/** The replicated columns holding times (`timestamp without time zone`) or dates. */
const TEMPORAL: Record<string, "timestamp" | "date"> = {
  created_at: "timestamp",
  updated_at: "timestamp",
  start_date: "date",
  end_date: "date",
  valid_from: "timestamp",
};

/** A SQL expression for PostgreSQL: `expr` mapped into ClickHouse's range (NULL stays NULL). */
export function clampToOlap(expr: string, type: "timestamp" | "date"): string {
  const [min, max] = type === "timestamp" ? [OLAP_TIME_MIN, OLAP_TIME_MAX] : [OLAP_DATE_MIN, OLAP_DATE_MAX];
  return `CASE WHEN ${expr} < ${type} '${min}' THEN ${type} '${min}' WHEN ${expr} > ${type} '${max}' THEN ${type} '${max}' ELSE ${expr} END`;
}

/**
 * How PostgreSQL reads `column` (of table alias `prefix`, if any) for ClickHouse: a temporal
 * column mapped into ClickHouse's range under its own name, any other column as it is.
 */
export function olapColumn(column: string, prefix = ""): string {
  const type = TEMPORAL[column];
  return type ? `${clampToOlap(`${prefix}${column}`, type)} AS ${column}` : `${prefix}${column}`;
}

/** `column`'s value mapped into ClickHouse's range (no alias), for expressions built on it. */
export function olapValue(column: string, prefix = ""): string {
  const type = TEMPORAL[column];
  return type ? clampToOlap(`${prefix}${column}`, type) : `${prefix}${column}`;
}
