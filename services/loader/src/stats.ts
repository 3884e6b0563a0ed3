import type { LoadedEvent } from "@adpipe/shared/messages/loaded";

/** What one table's loop has done since start, for `GET /status` (and metrics later). */
export function createTableStats() {
  return {
    rowsLoaded: 0,
    batchesLoaded: 0,
    inserts: 0,
    deadLettered: 0,
    errors: { transient: 0, rejected: 0, invalid: 0, announce: 0 },
    lastBatch: null as null | {
      batches: number;
      rows: number;
      watermark: string;
      loadedAt: string;
      batchIds: string[];
    },
    recordLoad(event: LoadedEvent, batches: number) {
      this.rowsLoaded += event.rows;
      this.batchesLoaded += batches;
      this.inserts++;
      this.lastBatch = {
        batches,
        rows: event.rows,
        watermark: event.watermark,
        loadedAt: event.loadedAt,
        batchIds: event.batchIds.slice(0, 10),
      };
    },
  };
}
