import { z } from "zod";
import { TABLES } from "../contract.ts";
import { jsonCodec } from "./codec.ts";

/**
 * Published (core NATS) by the loader on `<ns>.schema.<table>` for each change it made to a
 * ClickHouse table to follow PostgreSQL's columns, and when a table stops on a type change it
 * cannot make (docs/schema-changes.md). Two loaders that saw the same column missing may both
 * announce it: read it as "this is now so", not as a count.
 */
export const schemaChangedEventSchema = z.object({
  table: z.enum(TABLES),
  change: z.enum(["add_column", "widen_column", "blocked", "resumed"]),
  column: z.string(),
  /** The column's PostgreSQL type (`format_type`). */
  pgType: z.string(),
  /** ClickHouse's type before (absent for an added column). */
  from: z.string().optional(),
  /** ClickHouse's type after, or the type a blocked table's column would need. */
  to: z.string(),
  /** For `blocked`: what is wrong and what to do. */
  message: z.string().optional(),
  at: z.string(),
});
export type SchemaChangedEvent = z.infer<typeof schemaChangedEventSchema>;
export const schemaChangedEvent = jsonCodec(schemaChangedEventSchema);
