import {
  type ExtractRunReply,
  type ExtractRunRequest,
  isTableName,
  TABLES,
  type TableName,
} from "@adpipe/shared/contract";
import { errorBody } from "@adpipe/shared/errors";
import { parseJson } from "@adpipe/shared/validate";
import { z } from "zod";
import type { TableResult } from "./cycle.ts";

const tableField = z
  .string({ message: `expected one of ${TABLES.join(", ")}` })
  .refine(isTableName, {
    error: (issue) => `unknown table '${String(issue.input)}'; expected one of ${TABLES.join(", ")}`,
  })
  .transform((value) => value as TableName);

/** `POST /extract` and `<ns>.extract.run`: `{}` for every table, `{ "table": "campaign" }` for one. */
export const extractRequest: z.ZodType<ExtractRunRequest> = z.object({ table: tableField.optional() });
/** `POST /resync`: the table is required. */
export const resyncRequest = z.object({ table: tableField });
/** `POST /pause`, `POST /resume`, `<ns>.extract.pause` and `<ns>.extract.resume`: one table. */
export const tableRequest = z.object({ table: tableField });

/** Parses a NATS request's payload the way `jsonBody` parses an HTTP body (empty means `{}`). */
export function parseRequest<T extends z.ZodType>(data: Uint8Array, schema: T): z.infer<T> {
  return parseJson(new TextDecoder().decode(data), schema);
}

/** The one answer shape for HTTP and NATS: the per-table results, plus an error when a table failed. */
export function extractResponse(results: TableResult[]): { body: ExtractRunReply; failed: boolean } {
  const failed = results.filter((r) => r.status === "failed");
  if (failed.length === 0) return { body: { results }, failed: false };
  const message = failed.map((r) => `${r.table}: ${r.error ?? "failed"}`).join("; ");
  return { body: { ...errorBody("extract_failed", message), results }, failed: true };
}
