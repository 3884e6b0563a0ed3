import type { TableName } from "@adpipe/shared/contract";
import type { DeltaMessage } from "@adpipe/shared/messages/delta";
import { type LoadedEvent, mergeWindows } from "@adpipe/shared/messages/loaded";
import { maxWatermark } from "./delta-message.ts";

/** The announcement of the batches one flush loaded. */
export function buildLoadedEvent(table: TableName, loaded: readonly DeltaMessage[], now: Date): LoadedEvent {
  return {
    table,
    batchIds: loaded.map((d) => d.batchId),
    kinds: [...new Set(loaded.map((d) => d.kind))],
    rows: loaded.reduce((n, d) => n + d.rows, 0),
    watermark: maxWatermark(loaded.map((d) => d.watermarkTo)),
    windows: mergeWindows(loaded.map((d) => ({ from: d.watermarkFrom, to: d.watermarkTo }))),
    loadedAt: now.toISOString(),
    ...oldestCommit(loaded),
  };
}

/** The oldest Adpipe-Committed-By among the batches (ISO strings in UTC sort as times), if any has one. */
function oldestCommit(loaded: readonly DeltaMessage[]): { committedBy?: string } {
  const times = loaded.flatMap((d) => (d.committedBy ? [d.committedBy] : [])).sort();
  return times[0] ? { committedBy: times[0] } : {};
}
