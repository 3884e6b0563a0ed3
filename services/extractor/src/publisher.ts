import type { DeltaKind, TableName } from "@adpipe/shared/contract";
import { encodeDeltaHeaders, type TableSchema } from "@adpipe/shared/messages/delta";
import { ELECTION_RETRY, publishThroughElection, type RetryTiming } from "@adpipe/shared/nats-retry";
import type { JetStreamClient } from "nats";
import type { XidWindow } from "./delta-queries.ts";

export interface DeltaBatch {
  subject: string;
  table: TableName;
  kind: DeltaKind;
  columns: readonly string[];
  window: XidWindow;
  /** Position of this batch among the window's batches of this kind (of this part). */
  sequence: number;
  /** Which of the snapshot workers' block ranges it comes from, when the window was split. */
  part?: number;
  body: Uint8Array;
  rows: number;
  /** When the snapshot that read the window was taken: its changes had all committed by then. */
  committedBy?: string;
  /** An upsert's columns as PostgreSQL's catalog had them (`Adpipe-Schema`). */
  schema?: TableSchema;
}

/**
 * The batch id, also sent as `Nats-Msg-Id`. It names table, kind, window and position, and ends
 * in a hash of the body: a re-read of the same window yields the same id only for the same
 * bytes, so JetStream's de-duplication can drop a repeat but never a batch whose rows differ
 * (after a crash, rows may have moved to a later window and shifted the cut points).
 */
export function batchId(batch: Omit<DeltaBatch, "subject" | "columns" | "rows">): string {
  // The same bytes under other columns (a rename) are another batch.
  const seed = batch.schema ? BigInt(`0x${batch.schema.fingerprint}`) : 0n;
  const hash = Bun.hash(batch.body, seed).toString(16).padStart(16, "0");
  const { table, kind, window, sequence, part } = batch;
  const position = part === undefined ? `${sequence}` : `${part}.${sequence}`;
  return `${table}-${kind}-${window.from}-${window.to}-${position}-${hash}`;
}

export const deltaHeaders = (batch: DeltaBatch, id: string) =>
  encodeDeltaHeaders({
    table: batch.table,
    kind: batch.kind,
    batchId: id,
    columns: batch.columns,
    rows: batch.rows,
    watermarkFrom: batch.window.from,
    watermarkTo: batch.window.to,
    committedBy: batch.committedBy,
    schema: batch.schema,
  });

export interface PublishTotals {
  batches: number;
  rows: number;
  /** Batches JetStream had already stored (same id within its duplicate window). */
  duplicates: number;
}

/**
 * Publishes batches with up to `maxInFlight` acknowledgements outstanding: enough to keep the
 * server busy, few enough that memory stays at about `maxInFlight` bodies. `publish` waits while
 * the window is full, which pauses the COPY stream feeding it. A batch JetStream does not
 * acknowledge (the stream is electing a leader) is sent again with the same id for
 * `timing.forMs` (shared/src/nats/nats-retry.ts): the cycle goes on as soon as a leader exists instead
 * of failing and backing off. The first failure after that is rethrown by the next `publish` or by
 * `settle`, so the caller never advances its watermark past it.
 */
export function createPublisher({
  js,
  maxInFlight,
  timing = ELECTION_RETRY,
}: {
  js: JetStreamClient;
  maxInFlight: number;
  timing?: RetryTiming;
}) {
  const inFlight = new Set<Promise<void>>();
  const totals: PublishTotals = { batches: 0, rows: 0, duplicates: 0 };
  let failure: unknown;

  async function publish(batch: DeltaBatch): Promise<void> {
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    if (failure) throw failure;
    const id = batchId(batch);
    const ack = publishThroughElection(
      js,
      batch.subject,
      batch.body,
      { msgID: id, headers: deltaHeaders(batch, id) },
      { ...timing, stopping: () => failure !== undefined },
    )
      .then(
        (pa) => {
          totals.batches++;
          totals.rows += batch.rows;
          if (pa.duplicate) totals.duplicates++;
        },
        (err: unknown) => {
          failure ??= err;
        },
      )
      .finally(() => inFlight.delete(ack));
    inFlight.add(ack);
  }

  /** Resolves when every batch is acknowledged; throws the first failure. */
  async function settle(): Promise<PublishTotals> {
    await Promise.all(inFlight);
    if (failure) throw failure;
    return { ...totals };
  }

  return { publish, settle };
}

export type Publisher = ReturnType<typeof createPublisher>;
