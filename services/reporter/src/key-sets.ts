/**
 * Key sets (touched campaigns, (campaign, day) pairs, xid windows) travel in the statement text,
 * which @clickhouse/client POSTs as the request body, never as `param_*` URL parameters.
 *
 * Why: a URL is bounded (clickhouse-server's `http_max_uri_size` is 1 MiB; the embedded server
 * used to stop at Bun's 16 KiB and answer 431 with no message), while a rebuild's key sets grow
 * with the load: 1,000 (campaign, day) keys were already about 14 KB of URL, and one such batch
 * blocked the reporter for good. Considered:
 * - chunking the keys over several statements: still a URL limit, one statement per chunk and
 *   table, and a table's keys of one rebuild no longer land in one INSERT (one part);
 * - external data (multipart `_data` tables): @clickhouse/client cannot send it, and the
 *   embedded server would need multipart parsing; a staging table joined with `IN (SELECT ...)`:
 *   one more write and cleanup per rebuild, and statements no longer measured (docs/reporter-buckets.md);
 * - the literals in the body (chosen): a `{name:Array(T)}` placeholder becomes
 *   `CAST([...], 'Array(T)')`, the same AST the server builds when it substitutes a query
 *   parameter, so the statements, their plans and their index pruning are unchanged (`EXPLAIN
 *   indexes = 1` of `campaign_id IN` a 3-element set over 1,000 granules: "3/1000" either way). Standard
 *   HTTP interface on any server: the body is only bounded by `max_query_size`, raised per
 *   statement when the text is larger than the default 256 KiB.
 *
 * Only the key types are inlined, and every element is checked against its type before it
 * is written (integers in range, dates as YYYY-MM-DD): no text from outside reaches the SQL. Other
 * parameters stay query parameters.
 */

const PLACEHOLDER = /\{(\w+):Array\((Int32|Int64|UInt64|Date32)\)\}/g;

/** clickhouse-server's default `max_query_size` (bytes of SQL the parser accepts). */
export const DEFAULT_MAX_QUERY_SIZE = 262_144;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const UINT64_MAX = 2n ** 64n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function element(type: string, name: string, v: unknown): string {
  if (type === "Int32") {
    if (typeof v === "number" && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) return String(v);
  } else if (type === "UInt64" || type === "Int64") {
    // Ids are Int64: a JS number only while it is exact (up to 2^53 - 1), else a bigint or its
    // decimal text, so nothing is rounded on the way into the statement.
    const n =
      typeof v === "bigint"
        ? v
        : typeof v === "number" && Number.isSafeInteger(v)
          ? BigInt(v)
          : typeof v === "string" && /^-?\d{1,20}$/.test(v)
            ? BigInt(v)
            : null;
    const [min, max] = type === "Int64" ? [INT64_MIN, INT64_MAX] : [0n, UINT64_MAX];
    if (n !== null && n >= min && n <= max) return n.toString();
  } else if (typeof v === "string" && DATE.test(v)) return `'${v}'`;
  throw new Error(`key set ${name}: ${String(v)} is not a ${type}`);
}

export interface BoundStatement {
  query: string;
  /** The parameters that were not inlined (still sent as query parameters). */
  query_params: Record<string, unknown>;
  /** `max_query_size` when the statement is larger than the server's default allows. */
  clickhouse_settings: { max_query_size?: string };
}

/** Writes the statement's key-set placeholders as literals; throws on a value not of its type. */
export function bindKeySets(query: string, params: Record<string, unknown>): BoundStatement {
  const inlined = new Set<string>();
  const text = query.replace(PLACEHOLDER, (_, name: string, type: string) => {
    const value = params[name];
    if (!Array.isArray(value)) throw new Error(`key set ${name}: expected an array`);
    inlined.add(name);
    return `CAST([${value.map((v) => element(type, name, v)).join(",")}], 'Array(${type})')`;
  });
  const rest = Object.fromEntries(Object.entries(params).filter(([k]) => !inlined.has(k)));
  const bytes = Buffer.byteLength(text);
  return {
    query: text,
    query_params: rest,
    // Twice the text: room for the FORMAT clause the client appends, and no second guess needed.
    clickhouse_settings: bytes > DEFAULT_MAX_QUERY_SIZE / 2 ? { max_query_size: String(bytes * 2) } : {},
  };
}
