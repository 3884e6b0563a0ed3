// Each replicated row as the same canonical text in PostgreSQL and in ClickHouse, computed inside
// each database, and the 64-bit digest of that text: the approach of the verifier
// (services/extractor/src/verify/canonical.ts, services/extractor/sql/_canon-*.sql), written out
// here for the fault suite. '|'-separated, NULL as 'N', the id first, times as microseconds since
// the epoch (PostgreSQL's read through ClickHouse's range: `infinity` as 2299-12-31 ...), amounts
// in cents, dates as YYYY-MM-DD.

import type { TableName } from "@adpipe/shared/contract";
import { olapValue } from "@adpipe/shared/olap-range";

type Kind = "id" | "ref" | "text" | "micros" | "cents" | "day";

const COLUMNS: Record<TableName, [string, Kind][]> = {
  advertiser: [
    ["id", "id"],
    ["name", "text"],
    ["updated_at", "micros"],
    ["created_at", "micros"],
  ],
  campaign: [
    ["id", "id"],
    ["name", "text"],
    ["bid", "cents"],
    ["budget", "cents"],
    ["start_date", "day"],
    ["end_date", "day"],
    ["advertiser_id", "ref"],
    ["updated_at", "micros"],
    ["created_at", "micros"],
  ],
  impressions: [
    ["id", "id"],
    ["campaign_id", "ref"],
    ["created_at", "micros"],
  ],
  clicks: [
    ["id", "id"],
    ["campaign_id", "ref"],
    ["created_at", "micros"],
  ],
  campaign_bids: [
    ["id", "id"],
    ["campaign_id", "ref"],
    ["bid", "cents"],
    ["valid_from", "micros"],
  ],
};

/** The compared columns of each table, in the canonical text's order. */
export const COMPARED_COLUMNS = Object.fromEntries(
  Object.entries(COLUMNS).map(([t, cols]) => [t, cols.map(([c]) => c)]),
) as Record<TableName, string[]>;

const pgField = (c: string, kind: Kind) => {
  const nullable = (e: string) => `coalesce(${e}, 'N')`;
  switch (kind) {
    case "id":
      return `${c}::text`;
    case "ref":
      return nullable(`${c}::text`);
    case "text":
      return nullable(c);
    case "micros":
      return nullable(`((extract(epoch from ${olapValue(c)}) * 1000000)::bigint)::text`);
    case "cents":
      return nullable(`((${c} * 100)::bigint)::text`);
    case "day":
      return nullable(`to_char(${olapValue(c)}, 'YYYY-MM-DD')`);
  }
};

const chField = (c: string, kind: Kind) => {
  const nullable = (e: string) => `ifNull(${e}, 'N')`;
  switch (kind) {
    case "id":
      return `toString(${c})`;
    case "ref":
      return nullable(`toString(${c})`);
    case "text":
      return nullable(c);
    case "micros":
      return nullable(`toString(toUnixTimestamp64Micro(${c}))`);
    case "cents":
      return nullable(`toString(toInt64(toDecimal64(${c}, 2) * 100))`);
    case "day":
      return nullable(`toString(${c})`);
  }
};

/** A row's canonical text: a SQL expression over `table`'s columns, for PostgreSQL or ClickHouse. */
export const rowText = {
  pg: (t: TableName) => `concat_ws('|', ${COLUMNS[t].map(([c, k]) => pgField(c, k)).join(", ")})`,
  ch: (t: TableName) => `concatWithSeparator('|', ${COLUMNS[t].map(([c, k]) => chField(c, k)).join(", ")})`,
};

/** The row digest: the first 8 bytes of the MD5 of the canonical text, big-endian, signed. */
export const rowHash = {
  pg: (t: TableName) => `('x' || substr(md5(${rowText.pg(t)}), 1, 16))::bit(64)::bigint`,
  ch: (t: TableName) => `reinterpretAsInt64(reverse(substring(MD5(${rowText.ch(t)}), 1, 8)))`,
};
