import type { DeltaMessage } from "@adpipe/shared/messages/delta";

export interface InsertGroup<T> {
  target: string;
  columns: readonly string[];
  items: T[];
  bytes: number;
}

/**
 * Groups deltas that can share one INSERT (same target table, column list and schema), in
 * arrival order.
 */
export function groupForInsert<T extends { delta: DeltaMessage }>(items: T[]): InsertGroup<T>[] {
  const groups = new Map<string, InsertGroup<T>>();
  for (const item of items) {
    const key = `${item.delta.target}(${item.delta.columns.join(",")})${item.delta.schema?.fingerprint ?? ""}`;
    let group = groups.get(key);
    if (!group) {
      group = { target: item.delta.target, columns: item.delta.columns, items: [], bytes: 0 };
      groups.set(key, group);
    }
    group.items.push(item);
    group.bytes += item.delta.body.length;
  }
  return [...groups.values()];
}

export const maxWatermark = (values: string[]): string =>
  values.reduce((max, v) => (BigInt(v) > BigInt(max) ? v : max), "0");
