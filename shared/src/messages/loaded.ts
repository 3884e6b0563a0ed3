import { z } from "zod";
import { DELTA_KINDS, TABLES } from "../contract.ts";
import { jsonCodec, XID8 } from "./codec.ts";

const xid8 = z.string().regex(XID8, "expected a decimal xid8");

/**
 * Published by the loader on `<ns>.loaded.<table>` after a durable insert into ClickHouse (and
 * its record in `loaded_batches`); the reporter rebuilds what the windows touched.
 */
export const loadedEventSchema = z.object({
  table: z.enum(TABLES),
  batchIds: z.array(z.string().min(1)),
  kinds: z.array(z.enum(DELTA_KINDS)),
  rows: z.number().int().min(0),
  /** Upper end (exclusive) of the highest watermark window loaded. */
  watermark: xid8,
  /** The transaction-id windows the loaded batches cover (`from <= _xid < to`), merged. */
  windows: z.array(z.object({ from: xid8, to: xid8 })),
  loadedAt: z.string(),
  /**
   * The oldest `Adpipe-Committed-By` of the loaded batches: every change they carry had committed
   * by then. Optional: events from loaders before it, and batches without the header, have none.
   */
  committedBy: z.iso.datetime({ offset: true }).optional(),
});
export type LoadedEvent = z.infer<typeof loadedEventSchema>;
export const loadedEvent = jsonCodec(loadedEventSchema);

/**
 * The windows' union as sorted, non-overlapping windows (adjacent ones joined): the same
 * transactions, as few ranges as possible. Consecutive extractor cycles write adjacent windows, so
 * a backlog of thousands of batches becomes a range or two (the reporter reads each range once).
 */
export function mergeWindows(windows: { from: string; to: string }[]): { from: string; to: string }[] {
  const sorted = windows
    .map((w) => ({ from: BigInt(w.from), to: BigInt(w.to) }))
    .sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  const out: { from: bigint; to: bigint }[] = [];
  for (const w of sorted) {
    const last = out.at(-1);
    if (last && w.from <= last.to) last.to = w.to > last.to ? w.to : last.to;
    else out.push({ ...w });
  }
  return out.map((w) => ({ from: String(w.from), to: String(w.to) }));
}
