import { type MsgHdrs, headers as natsHeaders } from "nats";
import {
  COLUMN_NAME,
  type Column,
  fingerprint,
  type TableSchema,
  TRACKING_COLUMNS,
} from "../columns/columns.ts";
import {
  BARE_DELETE_COLUMNS,
  DELETE_COLUMNS,
  DELTA_FORMAT,
  DELTA_KINDS,
  type DeltaKind,
  HEADERS,
  isTableName,
  SCHEMA_VERSION,
  type TableName,
  TRUNCATE_COLUMNS,
  targetTable,
  UPSERT_COLUMNS,
} from "../contract.ts";
import { XID8 } from "./codec.ts";

/** What a delta message's headers say about its body (docs/events.md, "Delta messages"). */
export interface DeltaMeta {
  table: TableName;
  kind: DeltaKind;
  batchId: string;
  columns: readonly string[];
  rows: number;
  watermarkFrom: string;
  watermarkTo: string;
  /**
   * `Adpipe-Committed-By`: every change in the batch had committed by this time (ISO-8601). Absent
   * on batches published before the header existed, and treated as absent when unreadable: it
   * only feeds the freshness figures, so it never costs a batch its load.
   */
  committedBy?: string;
  /**
   * `Adpipe-Schema` (upserts): the table's columns as PostgreSQL's catalog had them when the
   * batch was read, and their fingerprint. `columns` is then their names and the tracking columns.
   * Absent on batches from before schema changes were carried: their columns are UPSERT_COLUMNS.
   */
  schema?: TableSchema;
}

export type { TableSchema };

/** The columns an upsert of this schema carries, in order. */
export const schemaColumns = (schema: TableSchema): string[] => [
  ...schema.columns.map((c) => c.name),
  ...TRACKING_COLUMNS,
];

/** A delta batch whose headers passed validation: ready to insert as it is. */
export interface DeltaMessage extends DeltaMeta {
  /** The ClickHouse table it goes into. */
  target: string;
  body: Uint8Array;
}

export type DecodedDelta = { ok: true; delta: DeltaMessage } | { ok: false; reason: string };

/** The column list the extractor writes for a batch of this table and kind, in this order. */
export const deltaColumns = (table: TableName, kind: DeltaKind): readonly string[] =>
  kind === "upsert" ? UPSERT_COLUMNS[table] : kind === "delete" ? DELETE_COLUMNS[table] : TRUNCATE_COLUMNS;

/** Every column list a consumer accepts: a delete may also carry the bare tombstone columns. */
export const acceptedColumns = (table: TableName, kind: DeltaKind): (readonly string[])[] =>
  kind === "delete" && DELETE_COLUMNS[table] !== BARE_DELETE_COLUMNS
    ? [DELETE_COLUMNS[table], BARE_DELETE_COLUMNS]
    : [deltaColumns(table, kind)];

/** The producer's side: the headers of a delta message (the batch id is also `Nats-Msg-Id`). */
export function encodeDeltaHeaders(meta: DeltaMeta): MsgHdrs {
  const h = natsHeaders();
  h.set(HEADERS.table, meta.table);
  h.set(HEADERS.kind, meta.kind);
  h.set(HEADERS.batchId, meta.batchId);
  h.set(HEADERS.format, DELTA_FORMAT);
  h.set(HEADERS.columns, meta.columns.join(","));
  h.set(HEADERS.rows, String(meta.rows));
  h.set(HEADERS.watermarkFrom, meta.watermarkFrom);
  h.set(HEADERS.watermarkTo, meta.watermarkTo);
  h.set(HEADERS.schemaVersion, String(SCHEMA_VERSION));
  if (meta.committedBy !== undefined) h.set(HEADERS.committedBy, meta.committedBy);
  if (meta.schema !== undefined) h.set(HEADERS.schema, JSON.stringify(meta.schema));
  h.set(HEADERS.msgId, meta.batchId);
  return h;
}

interface HeaderSource {
  get(name: string): string;
}

/**
 * The consumer's side: validates a delta message at the boundary (headers against the contract,
 * body framing). A message that fails can never succeed on a retry, so the caller sets it aside
 * at once, with `reason`.
 */
export function decodeDelta(headers: HeaderSource | undefined, body: Uint8Array): DecodedDelta {
  if (!headers) return { ok: false, reason: "no headers" };
  const get = (name: string) => headers.get(name) ?? "";
  const version = get(HEADERS.schemaVersion);
  if (version !== String(SCHEMA_VERSION)) {
    return {
      ok: false,
      reason: `${HEADERS.schemaVersion} ${JSON.stringify(version)} is not ${SCHEMA_VERSION}`,
    };
  }
  const table = get(HEADERS.table);
  if (!isTableName(table)) return { ok: false, reason: `unknown table ${JSON.stringify(table)}` };
  const kind = get(HEADERS.kind) as DeltaKind;
  if (!DELTA_KINDS.includes(kind)) return { ok: false, reason: `unknown kind ${JSON.stringify(kind)}` };
  const format = get(HEADERS.format);
  if (format !== DELTA_FORMAT) return { ok: false, reason: `unsupported format ${JSON.stringify(format)}` };
  const columns = get(HEADERS.columns).split(",");
  const schema = get(HEADERS.schema) ? readSchema(get(HEADERS.schema)) : undefined;
  if (typeof schema === "string") return { ok: false, reason: `bad ${HEADERS.schema}: ${schema}` };
  if (schema && kind !== "upsert") return { ok: false, reason: `${HEADERS.schema} on a ${kind}` };
  const accepted = (schema ? [schemaColumns(schema)] : acceptedColumns(table, kind)).map((c) => c.join(","));
  if (!accepted.includes(columns.join(","))) {
    return {
      ok: false,
      reason: `columns ${JSON.stringify(columns.join(","))} are not ${accepted.join(" or ")}`,
    };
  }
  const batchId = get(HEADERS.batchId);
  if (!batchId) return { ok: false, reason: `missing ${HEADERS.batchId}` };
  const rows = Number(get(HEADERS.rows));
  if (!Number.isInteger(rows) || rows < 0) return { ok: false, reason: `bad ${HEADERS.rows}` };
  const watermarkFrom = get(HEADERS.watermarkFrom);
  const watermarkTo = get(HEADERS.watermarkTo);
  if (!XID8.test(watermarkFrom)) return { ok: false, reason: `bad ${HEADERS.watermarkFrom}` };
  if (!XID8.test(watermarkTo)) return { ok: false, reason: `bad ${HEADERS.watermarkTo}` };
  // Whole rows only: bytes are concatenated with other batches into one insert.
  if (body.length > 0 && body[body.length - 1] !== 0x0a) {
    return { ok: false, reason: "body does not end with a newline (a partial row)" };
  }
  const committedBy = readTime(get(HEADERS.committedBy));
  return {
    ok: true,
    delta: {
      table,
      kind,
      batchId,
      target: targetTable(table, kind),
      columns,
      rows,
      watermarkFrom,
      watermarkTo,
      ...(committedBy ? { committedBy } : {}),
      ...(schema ? { schema } : {}),
      body,
    },
  };
}

/** An ISO-8601 time with a zone, normalized; undefined when absent or not one. */
export function readTime(value: string | undefined): string | undefined {
  if (!value || !/^\d{4}-\d{2}-\d{2}T[^ ]+(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** An `Adpipe-Schema` header's table schema, or why it is not one. */
function readSchema(text: string): TableSchema | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "not JSON";
  }
  const v = value as Partial<TableSchema> | null;
  if (!v || typeof v.fingerprint !== "string" || !Array.isArray(v.columns))
    return "needs fingerprint and columns";
  const columns: Column[] = [];
  for (const c of v.columns as Partial<Column>[]) {
    if (typeof c?.name !== "string" || !COLUMN_NAME.test(c.name))
      return `bad column name ${JSON.stringify(c?.name)}`;
    if (typeof c.type !== "string" || !c.type || typeof c.nullable !== "boolean")
      return `column ${c.name} needs a type and nullable`;
    if (c.default !== undefined && typeof c.default !== "string") return `column ${c.name}: bad default`;
    columns.push({
      name: c.name,
      type: c.type,
      nullable: c.nullable,
      ...(c.default !== undefined ? { default: c.default } : {}),
    });
  }
  const names = columns.map((c) => c.name);
  if (!names.includes("id")) return "no id column";
  if (names.some((n) => n === "_deleted" || (TRACKING_COLUMNS as readonly string[]).includes(n)))
    return "a tracking column is listed";
  if (new Set(names).size !== names.length) return "a column is listed twice";
  if (fingerprint(columns) !== v.fingerprint) return "the fingerprint does not match the columns";
  return { fingerprint: v.fingerprint, columns };
}
