import {
  BARE_DELETE_COLUMNS,
  DELTA_FORMAT,
  type DeltaKind,
  HEADERS,
  SCHEMA_VERSION,
  subjects,
  type TableName,
  TRUNCATE_COLUMNS,
  UPSERT_COLUMNS,
} from "@adpipe/shared/contract";
import { headers, type JetStreamClient } from "nats";

export interface TestDelta {
  table: TableName;
  kind?: DeltaKind;
  /** TSV lines without the trailing newline. */
  rows: string[];
  batchId?: string;
  msgId?: string;
  watermarkFrom?: string;
  watermarkTo?: string;
  /** Overrides for header values, to build invalid messages. */
  override?: Partial<Record<keyof typeof HEADERS, string>>;
}

let counter = 0;

/** Publishes a delta exactly as the extractor would (see docs/events.md). */
export async function publishDelta(js: JetStreamClient, namespace: string, d: TestDelta) {
  const kind = d.kind ?? "upsert";
  const columns =
    kind === "upsert" ? UPSERT_COLUMNS[d.table] : kind === "delete" ? BARE_DELETE_COLUMNS : TRUNCATE_COLUMNS;
  const batchId = d.batchId ?? `test-${d.table}-${kind}-${++counter}-${Date.now()}`;
  const h = headers();
  const values: Partial<Record<keyof typeof HEADERS, string>> = {
    table: d.table,
    kind,
    batchId,
    format: DELTA_FORMAT,
    columns: columns.join(","),
    rows: String(d.rows.length),
    watermarkFrom: d.watermarkFrom ?? "0",
    watermarkTo: d.watermarkTo ?? "1000",
    schemaVersion: String(SCHEMA_VERSION),
    msgId: d.msgId ?? batchId,
    ...d.override,
  };
  for (const [key, value] of Object.entries(values))
    if (value !== undefined) h.set(HEADERS[key as keyof typeof HEADERS], value);
  const body = d.rows.map((r) => `${r}\n`).join("");
  return js.publish(subjects(namespace).delta(d.table), body, { headers: h, msgID: values.msgId });
}

/** `count` impression rows with ids from `firstId`, version = id + versionOffset, written by xid 500. */
export const impressionRows = (firstId: number, count: number, versionOffset = 0, campaignId = 1) =>
  Array.from(
    { length: count },
    (_, i) =>
      `${firstId + i}\t${campaignId}\t2026-11-20 10:00:00.123456\t${firstId + i + versionOffset}\t500`,
  );

/** The loader's settings in tests: short flush and backoff, 8 MiB inserts, 3 attempts. */
export const loaderTestConfig = (namespace: string) => ({
  ADPIPE_NAMESPACE: namespace,
  LOADER_FLUSH_MS: 50,
  LOADER_MAX_INSERT_BYTES: 8 << 20,
  LOADER_MAX_ATTEMPTS: 3,
  LOADER_MAX_BACKOFF_MS: 500,
});
