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
