import type { TableName } from "@adpipe/shared/contract";
import type { DeltaMessage } from "@adpipe/shared/messages/delta";
import type { ClickHouseClient } from "@clickhouse/client";

/**
 * Records batches as loaded in `loaded_batches` (migration 0004): called after their rows are in
 * ClickHouse and before they are announced or acked, so the reporter's heal step can tell
 * "loaded but never reported" (a row here, none in `reported_batches`) from "not loaded yet".
 */
export async function recordLoaded(
  clickhouse: ClickHouseClient,
  table: TableName,
  batches: readonly DeltaMessage[],
): Promise<void> {
  if (batches.length === 0) return;
  await clickhouse.insert({
    table: "loaded_batches",
    format: "JSONEachRow",
    values: batches.map((b) => ({
      table_name: table,
      batch_id: b.batchId,
      kind: b.kind,
      from_xid: b.watermarkFrom,
      to_xid: b.watermarkTo,
      rows: b.rows,
    })),
  });
}
