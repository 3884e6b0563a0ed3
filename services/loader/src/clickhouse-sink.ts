import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { DELTA_FORMAT } from "@adpipe/shared/contract";
import { type ClickHouseClient, ClickHouseError } from "@clickhouse/client";

// Server error codes that say "try again later", not "this data is wrong".
const TRANSIENT_CODES = new Set([
  "159", // TIMEOUT_EXCEEDED
  "164", // READONLY
  "202", // TOO_MANY_SIMULTANEOUS_QUERIES
  "203", // NO_FREE_CONNECTION
  "209", // SOCKET_TIMEOUT
  "210", // NETWORK_ERROR
  "241", // MEMORY_LIMIT_EXCEEDED
  "242", // TABLE_IS_READ_ONLY
  "252", // TOO_MANY_PARTS
  "319", // UNKNOWN_STATUS_OF_INSERT
  "425", // SYSTEM_ERROR
  "999", // KEEPER_EXCEPTION
]);

/**
 * Transient: ClickHouse could not be reached or is overloaded; retried without limit. Anything
 * else ClickHouse answered with an exception code is about the data or the table: the batch
 * counts an attempt and is dead-lettered when it keeps failing.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof ClickHouseError) return TRANSIENT_CODES.has(err.code);
  return true;
}

export function describe(err: unknown): string {
  if (err instanceof ClickHouseError)
    return `ClickHouse error ${err.code} (${err.type ?? "?"}): ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * The `insert_deduplication_token` of one INSERT of these batches, in this order: the batch id
 * for one batch, a digest of the ordered ids for several. A batch id names its bytes (it ends in
 * a hash of the body), so equal tokens mean equal data, and a retry of the same INSERT (after a
 * timeout whose outcome is unknown, or on another replica) is stored once. ClickHouse appends
 * `_<n>` per block, so the order matters: the same batches grouped or ordered differently get
 * another token and are stored again, which the versioned tables make harmless.
 */
export function dedupToken(batchIds: readonly string[]): string {
  if (batchIds.length === 1) return batchIds[0] as string;
  return `batches-${batchIds.length}-${createHash("sha256").update(batchIds.join("\n")).digest("hex").slice(0, 32)}`;
}

/**
 * One INSERT of the batches' bytes exactly as the extractor published them (TabSeparated from
 * PostgreSQL's COPY): no row is parsed here. Resolves once ClickHouse has written the data.
 * With `batchIds`, the insert carries their dedupToken.
 */
export async function insertBodies(
  client: ClickHouseClient,
  table: string,
  columns: readonly string[],
  bodies: Uint8Array[],
  batchIds?: readonly string[],
): Promise<void> {
  await client.insert({
    table,
    columns: columns as [string, ...string[]],
    format: DELTA_FORMAT,
    clickhouse_settings: batchIds?.length ? { insert_deduplication_token: dedupToken(batchIds) } : {},
    values: Readable.from(
      bodies.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
      { objectMode: false },
    ),
  });
}
