import type { LoadedEvent } from "@adpipe/shared/messages/loaded";
import { secondsSince } from "@adpipe/shared/metrics";

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
    /** The newest batch's freshness: its commit time, and seconds from it to its rows in ClickHouse. */
    freshness: null as null | { committedBy: string; seconds: number; at: string },
    recordFreshness(committedBy: (string | undefined)[]) {
      const newest = committedBy
        .filter((c): c is string => c !== undefined)
        .sort()
        .at(-1);
      if (!newest) return;
      const now = Date.now();
      this.freshness = {
        committedBy: newest,
        seconds: secondsSince(newest, now),
        at: new Date(now).toISOString(),
      };
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
