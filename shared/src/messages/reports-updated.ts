import { z } from "zod";
import { TABLES } from "../contract.ts";
import { jsonCodec, XID8 } from "./codec.ts";

/** Published by the reporter on `<ns>.reports.updated` after it replaced report rows. */
export const reportsUpdatedEventSchema = z.object({
  reports: z.array(z.string()),
  /** Per table, the highest loaded watermark the reports now include. */
  watermark: z.partialRecord(z.enum(TABLES), z.string().regex(XID8, "expected a decimal xid8")),
  updatedAt: z.string(),
  durationMs: z.number().min(0),
  full: z.boolean(),
});
export type ReportsUpdatedEvent = z.infer<typeof reportsUpdatedEventSchema>;
export const reportsUpdatedEvent = jsonCodec(reportsUpdatedEventSchema);
