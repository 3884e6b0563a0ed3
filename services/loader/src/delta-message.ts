import {
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
} from "@adpipe/shared/contract";

/** A delta batch whose headers passed validation: ready to insert as it is. */
export interface DeltaMessage {
  table: TableName;
  kind: DeltaKind;
  batchId: string;
  target: string;
  columns: readonly string[];
  rows: number;
  watermarkFrom: string;
  watermarkTo: string;
  body: Uint8Array;
}

export type Parsed = { ok: true; delta: DeltaMessage } | { ok: false; reason: string };

interface HeaderSource {
  get(name: string): string;
}

const expectedColumns = (table: TableName, kind: DeltaKind): readonly string[] =>
  kind === "upsert" ? UPSERT_COLUMNS[table] : kind === "delete" ? DELETE_COLUMNS : TRUNCATE_COLUMNS;

/**
 * Validates a delta message at the boundary (headers against the contract, body framing). A
 * message that fails can never succeed on a retry, so the caller dead-letters it at once.
 */
export function parseDelta(headers: HeaderSource | undefined, body: Uint8Array): Parsed {
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
  const expected = expectedColumns(table, kind);
  if (columns.join(",") !== expected.join(",")) {
    return {
      ok: false,
      reason: `columns ${JSON.stringify(columns.join(","))} are not ${expected.join(",")}`,
    };
  }
  const batchId = get(HEADERS.batchId);
  if (!batchId) return { ok: false, reason: `missing ${HEADERS.batchId}` };
  const rows = Number(get(HEADERS.rows));
  if (!Number.isInteger(rows) || rows < 0) return { ok: false, reason: `bad ${HEADERS.rows}` };
  const watermarkFrom = get(HEADERS.watermarkFrom);
  const watermarkTo = get(HEADERS.watermarkTo);
  if (!/^\d+$/.test(watermarkFrom)) return { ok: false, reason: `bad ${HEADERS.watermarkFrom}` };
  if (!/^\d+$/.test(watermarkTo)) return { ok: false, reason: `bad ${HEADERS.watermarkTo}` };
  // Whole rows only: bytes are concatenated with other batches into one insert.
  if (body.length > 0 && body[body.length - 1] !== 0x0a) {
    return { ok: false, reason: "body does not end with a newline (a partial row)" };
  }
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
      body,
    },
  };
}

export interface InsertGroup<T> {
  target: string;
  columns: readonly string[];
  items: T[];
  bytes: number;
}

/** Groups deltas that can share one INSERT (same target table and column list), in arrival order. */
export function groupForInsert<T extends { delta: DeltaMessage }>(items: T[]): InsertGroup<T>[] {
  const groups = new Map<string, InsertGroup<T>>();
  for (const item of items) {
    const key = `${item.delta.target}(${item.delta.columns.join(",")})`;
    let group = groups.get(key);
    if (!group) {
      group = { target: item.delta.target, columns: item.delta.columns, items: [], bytes: 0 };
      groups.set(key, group);
    }
    group.items.push(item);
    group.bytes += item.delta.body.length;
  }
  return [...groups.values()];
}

export const maxWatermark = (values: string[]): string =>
  values.reduce((max, v) => (BigInt(v) > BigInt(max) ? v : max), "0");

/** The windows' union as sorted, non-overlapping windows (adjacent ones joined). */
export function mergeWindows(windows: { from: string; to: string }[]): { from: string; to: string }[] {
  const sorted = windows
    .map((w) => ({ from: BigInt(w.from), to: BigInt(w.to) }))
    .sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  const out: { from: bigint; to: bigint }[] = [];
  for (const w of sorted) {
    const last = out.at(-1);
    if (last && w.from <= last.to) last.to = w.to > last.to ? w.to : last.to;
    else out.push({ ...w });
  }
  return out.map((w) => ({ from: String(w.from), to: String(w.to) }));
}
