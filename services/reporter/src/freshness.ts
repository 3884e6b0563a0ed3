import type { TableName } from "@adpipe/shared/contract";
import type { LoadedEvent } from "@adpipe/shared/messages/loaded";
import { secondsSince } from "@adpipe/shared/metrics";

export interface TableFreshness {
  committed_by: string;
  seconds: number;
  at: string;
}

/** Per table, the newest reported change's freshness (commit → in the reports), for /reports/status. */
export function createFreshness() {
  const byTable: Partial<Record<TableName, TableFreshness>> = {};
  return {
    byTable,
    /** Called once these events' changes are in the reports. */
    note(events: LoadedEvent[]): void {
      const now = Date.now();
      for (const e of events) {
        const prev = byTable[e.table];
        if (!e.committedBy || (prev && prev.committed_by >= e.committedBy)) continue;
        byTable[e.table] = {
          committed_by: e.committedBy,
          seconds: secondsSince(e.committedBy, now),
          at: new Date(now).toISOString(),
        };
      }
    },
  };
}
