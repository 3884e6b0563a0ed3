import type { TableName } from "@adpipe/shared/contract";
import type { LoadedEvent } from "@adpipe/shared/messages/loaded";
import type { ClickHouseClient } from "@clickhouse/client";
import type { Rebuilder } from "./rebuild.ts";
import type { Queries } from "./sql.ts";

/** A batch the loader recorded in `loaded_batches` and no rebuild has reported yet. */
export interface UnreportedBatch {
  table_name: TableName;
  batch_id: string;
  kind: "upsert" | "delete" | "truncate";
  from_xid: string;
  to_xid: string;
}

export interface TableProgress {
  loaded_watermark: string;
  reported_watermark: string | null;
  unreported_batches: number;
  lag_seconds: number;
}

/** Pure: the loaded events the loader would have published for these batches (one per batch). */
export function eventsFor(batches: readonly UnreportedBatch[]): LoadedEvent[] {
  return batches.map((b) => ({
    table: b.table_name,
    batchIds: [b.batch_id],
    kinds: [b.kind],
    rows: 0,
    watermark: b.to_xid,
    windows: [{ from: b.from_xid, to: b.to_xid }],
    loadedAt: "",
  }));
}

/**
 * The reporter's durable progress (migration 0004): which loaded batches the reports reflect.
 * Written after a rebuild succeeded, so a crash in between only rebuilds the batches again.
 */
export function createProgress(clickhouse: ClickHouseClient, rebuilder: Rebuilder, queries: Queries) {
  return {
    /** Loaded batches not reported, loaded since `sinceMs` (epoch ms; earlier ones are known reported). */
    unreported: (graceMs: number, limit: number, sinceMs = 0) =>
      rebuilder.rows<UnreportedBatch>(queries["unreported-batches"], {
        grace_ms: graceMs,
        limit,
        since_ms: sinceMs,
      }),

    /** ClickHouse's clock (epoch ms): loaded_at and reported_at are its times, not this host's. */
    async serverNowMs(): Promise<number> {
      const [row] = await rebuilder.rows<{ now: number }>(
        "SELECT toUnixTimestamp64Milli(now64(3)) AS now",
        {},
      );
      return Number(row?.now);
    },

    async markReported(events: readonly LoadedEvent[], version: bigint): Promise<void> {
      const values = events.flatMap((e) =>
        e.batchIds.map((id) => ({
          table_name: e.table,
          batch_id: id,
          to_xid: e.watermark,
          version: version.toString(),
        })),
      );
      if (values.length === 0) return;
      await clickhouse.insert({ table: "reported_batches", format: "JSONEachRow", values });
    },

    /** Per table; unreported batches counted among those loaded since `sinceMs`, as the heal step sees them. */
    async status(sinceMs = 0): Promise<Partial<Record<TableName, TableProgress>>> {
      const rows = await rebuilder.rows<TableProgress & { table_name: TableName }>(
        queries["progress-status"],
        { since_ms: sinceMs },
      );
      return Object.fromEntries(
        rows.map(({ table_name, ...p }) => [
          table_name,
          {
            ...p,
            unreported_batches: Number(p.unreported_batches ?? 0),
            lag_seconds: Number(p.lag_seconds ?? 0),
          },
        ]),
      );
    },
  };
}

export type Progress = ReturnType<typeof createProgress>;
