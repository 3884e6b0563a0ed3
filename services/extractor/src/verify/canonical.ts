import type { TableName } from "@adpipe/shared/contract";
import { olapValue } from "@adpipe/shared/olap-range";

// PostgreSQL's side of the checksum: the same canonical text as sql/_canon-<table>.sql builds in
// ClickHouse, field by field (docs/verifier.md). Tab-separated, NULL as \N, timestamps as
// microseconds since the epoch (TIMESTAMP is UTC here), amounts in cents, dates as YYYY-MM-DD.
const text = (col: string) => `${col}::text`;
const nullable = (expr: string) => `coalesce(${expr}, '\\N')`;
// Times are read as ClickHouse holds them (shared/src/clickhouse/olap-range.ts: infinity as 2299-12-31 ...).
const micros = (col: string) => nullable(`((extract(epoch from ${olapValue(col)}) * 1000000)::bigint)::text`);
const cents = (col: string) => `((${col} * 100)::bigint)::text`;
const day = (col: string) => nullable(`to_char(${olapValue(col)}, 'YYYY-MM-DD')`);

const FIELDS: Record<TableName, string[]> = {
  advertiser: [text("id"), "name", micros("updated_at"), micros("created_at")],
  campaign: [
    text("id"),
    "name",
    cents("bid"),
    cents("budget"),
    day("start_date"),
    day("end_date"),
    nullable(text("advertiser_id")),
    micros("updated_at"),
    micros("created_at"),
  ],
  impressions: [text("id"), nullable(text("campaign_id")), micros("created_at")],
  clicks: [text("id"), nullable(text("campaign_id")), micros("created_at")],
  campaign_bids: [text("id"), text("campaign_id"), cents("bid"), micros("valid_from")],
};

/** The canonical text of a row of `table` (a SQL expression over its columns). */
export const canonicalText = (table: TableName) => `concat_ws(E'\\t', ${FIELDS[table].join(", ")})`;

/** The row hash: first 8 bytes of the MD5 of the canonical text, big-endian, signed. */
export const rowHash = (table: TableName) =>
  `('x' || substr(md5(${canonicalText(table)}), 1, 16))::bit(64)::bigint`;
