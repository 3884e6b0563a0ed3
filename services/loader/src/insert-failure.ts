import { backoffMs } from "@adpipe/shared/batching-consumer";
import { isTransient } from "./clickhouse-sink.ts";

/** What to do with a batch whose INSERT failed on its own. */
export type InsertFailure =
  | { action: "transient" }
  | { action: "retry"; delayMs: number }
  | { action: "dead-letter" };

/**
 * A failure ClickHouse may get over (unavailable, overloaded) is no fault of the batch: it comes
 * back without counting against it. A rejected batch is retried with a growing delay until it was
 * delivered `maxAttempts` times, then dead-lettered so it cannot block its table.
 */
export function classifyInsertFailure(
  err: unknown,
  attempts: number,
  o: { maxAttempts: number; maxBackoffMs: number },
): InsertFailure {
  if (isTransient(err)) return { action: "transient" };
  if (attempts >= o.maxAttempts) return { action: "dead-letter" };
  return { action: "retry", delayMs: backoffMs(attempts - 1, 1000, o.maxBackoffMs) };
}

/** The delay after `n` transient failures in a row: 250 ms doubled `n` times, at most `maxBackoffMs`. */
export const transientDelayMs = (n: number, maxBackoffMs: number) => backoffMs(n, 250, maxBackoffMs);
