import { readTableSchema } from "@adpipe/shared/columns/pg-catalog";
import { type ExtractTableResult, subjects, type TableName } from "@adpipe/shared/contract";
import type { Logger } from "@adpipe/shared/logger";
import { ELECTION_RETRY } from "@adpipe/shared/nats-retry";
import type { Pool, PoolClient } from "@adpipe/shared/pg";
import type { JetStreamClient } from "nats";
import { to as copyTo } from "pg-copy-streams";
import { type BatchLimits, splitRows } from "./copy-batches.ts";
import { type DeltaQuery, deltaQueries, type XidWindow } from "./delta-queries.ts";
import { tryLockTable, unlockTable } from "./lock.ts";
import { createPublisher, type DeltaBatch } from "./publisher.ts";
import { planSplit, type SnapshotSplit, withSnapshotSession } from "./snapshot.ts";
import type { WatermarkStore } from "./watermark-store.ts";
import { windowEnd } from "./window-end.ts";

/** What one table did in a cycle (the `<ns>.extract.run` reply type from the contract). */
export type TableResult = ExtractTableResult;

/** Test seams: a hook that throws simulates a crash at that point. */
export interface CycleHooks {
  /** A batch is about to be published (the COPY is still streaming). */
  beforePublish?: (table: TableName, sequence: number) => Promise<void> | void;
  /** Every batch is acknowledged; the watermark is not stored yet. */
  afterPublish?: (table: TableName, window: XidWindow) => Promise<void> | void;
}

export interface CycleDeps {
  pool: Pool;
  js: JetStreamClient;
  store: WatermarkStore;
  namespace: string;
  limits: BatchLimits;
  maxInFlight: number;
  /** How long a batch is sent again while JetStream does not acknowledge it (EXTRACT_PUBLISH_TIMEOUT_MS). */
  publishTimeoutMs?: number;
  /** Large windows are read by several sessions sharing one snapshot (snapshot.ts). */
  snapshot?: SnapshotSplit;
  logger: Logger;
  hooks?: CycleHooks;
}

/**
 * One extraction of one table: lock, find the window [stored watermark, oldest running xid),
 * stream its changes out of a REPEATABLE READ snapshot into JetStream, and advance the watermark
 * only once every batch is acknowledged. See docs/extractor.md for why this loses nothing.
 */
export async function extractTable(deps: CycleDeps, table: TableName): Promise<TableResult> {
  const started = performance.now();
  const result: TableResult = {
    table,
    status: "idle",
    from: "0",
    to: "0",
    batches: 0,
    rows: 0,
    duplicates: 0,
    durationMs: 0,
  };
  const done = () => ({ ...result, durationMs: Math.round((performance.now() - started) * 10) / 10 });
  let client: PoolClient | undefined;
  let broken: Error | undefined;
  const session = { copying: false };
  // A session PostgreSQL drops while we hold it (pg_terminate_backend, a restart, a network cut)
  // emits "error" on the client; unheard, that would end the process. Heard, the statement in
  // progress (or the next one) fails, and so does this table's cycle, which the next one retries.
  const dropped = (err: Error) => {
    broken = err;
    deps.logger.warn("PostgreSQL dropped the extraction session", { table, err: err.message });
  };
  try {
    client = await deps.pool.connect();
    client.on("error", dropped);
    if (!(await tryLockTable(client, table))) return { ...done(), status: "skipped" };
    Object.assign(result, await publishWindow(deps, client, table, result, session));
    await unlockTable(client, table);
    return done();
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    deps.logger.warn("extraction failed; the window will be retried", { table, err });
    broken = (await releaseLock(client, table, session.copying, error)) ?? broken;
    return { ...done(), status: "failed", error: error.message };
  } finally {
    client?.release(broken);
    // A discarded session may still report its end later: keep listening to it. A healthy one
    // goes back to the pool, which listens to its idle clients itself.
    if (!broken) client?.off("error", dropped);
  }
}

/**
 * After a failure: mid-COPY the session takes no other statement until the stream ends, so it
 * is discarded (closing it ends its transaction and drops its lock on the server a moment
 * later). Otherwise it is rolled back and unlocked at once, so the next cycle need not wait.
 * Returns the error to release the session with, if it must be discarded.
 */
async function releaseLock(
  client: PoolClient | undefined,
  table: TableName,
  copying: boolean,
  error: Error,
): Promise<Error | undefined> {
  if (!client) return undefined;
  if (copying) return error;
  try {
    await client.query("ROLLBACK");
    await unlockTable(client, table);
    return undefined;
  } catch {
    return error;
  }
}

async function publishWindow(
  deps: CycleDeps,
  client: PoolClient,
  table: TableName,
  result: TableResult,
  session: { copying: boolean },
): Promise<Partial<TableResult>> {
  const { store } = deps;
  const watermark = await store.read(table, client);
  // Read under the table's lock, which POST /pause takes too: once a pause is answered, no cycle
  // publishes for the table until it is resumed.
  if (watermark.pausedSince !== null)
    return { status: "paused", from: watermark.xid, to: watermark.xid, pausedSince: watermark.pausedSince };
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  // A pending window (a crashed or failed attempt) is re-read as it was: its end is still below
  // every transaction that can write here, and unchanged batches then repeat their message ids.
  const window: XidWindow = { from: watermark.xid, to: watermark.pendingXid ?? (await windowEnd(client)) };
  // The snapshot exists once the first statement ran: every change it shows had committed before
  // this moment (Adpipe-Committed-By, what freshness is measured from).
  const committedBy = new Date().toISOString();
  result.from = window.from;
  result.to = window.to;
  if (BigInt(window.to) <= BigInt(window.from)) {
    await client.query("COMMIT");
    return { status: "idle", to: window.from };
  }

  const publisher = createPublisher({
    js: deps.js,
    maxInFlight: deps.maxInFlight,
    timing: { ...ELECTION_RETRY, forMs: deps.publishTimeoutMs ?? ELECTION_RETRY.forMs },
  });
  let pending: Promise<void> | undefined = watermark.pendingXid !== null ? Promise.resolve() : undefined;
  const publish = async (batch: Omit<DeltaBatch, "subject" | "table" | "window">) => {
    // Another session: this one is inside a read-only transaction streaming a COPY.
    pending ??= store.setPending(table, window.from, window.to);
    await pending;
    await deps.hooks?.beforePublish?.(table, batch.sequence);
    await publisher.publish({
      subject: subjects(deps.namespace).delta(table),
      table,
      window,
      committedBy,
      ...batch,
    });
  };
  const copy = async (source: PoolClient, query: DeltaQuery, part?: number) => {
    let sequence = 0;
    for await (const batch of splitRows(source.query(copyTo(query.sql)), deps.limits))
      await publish({
        kind: query.kind,
        columns: query.columns,
        schema: query.schema,
        sequence: sequence++,
        part,
        ...batch,
      });
  };

  // The table's columns now: a column added or dropped since the last cycle is carried from this one.
  const queries = deltaQueries(table, window, await readTableSchema(client, table));
  // A large window (the initial snapshot, a resync, a backlog) is read by several sessions at
  // once, each a range of the table's blocks, all in this transaction's exported snapshot.
  const split = await planSplit(client, table, queries.upsert, deps.snapshot);
  session.copying = true;
  for (const query of queries.deletions) await copy(client, query);
  if (split) {
    session.copying = false;
    // Marked pending before the parts take their sessions: none of them then waits for another.
    pending ??= store.setPending(table, window.from, window.to);
    await pending;
    const parts = split.parts.map((sql, part) =>
      withSnapshotSession(deps.pool, split.snapshot, (worker) =>
        copy(worker, { ...queries.upsert, sql }, part),
      ),
    );
    // Every part ends (or fails) before the exporting transaction does; the first failure fails
    // the cycle, and the window is read again.
    const failed = (await Promise.allSettled(parts)).find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } else {
    await copy(client, queries.upsert);
  }
  session.copying = false;
  const totals = await publisher.settle();
  await client.query("COMMIT");
  await deps.hooks?.afterPublish?.(table, window);
  await store.advance(table, window.to, client);
  if (totals.batches > 0) deps.logger.info("published window", { table, ...window, ...totals });
  return { status: totals.batches > 0 ? "published" : "idle", ...totals };
}
