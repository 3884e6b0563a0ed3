import type { Exception } from "./exception.ts";
import { contentType } from "./formats.ts";

export interface Summary {
  read_rows?: number;
  read_bytes?: number;
  written_rows?: number;
  written_bytes?: number;
  result_rows?: number;
  result_bytes?: number;
  elapsed_ns?: number;
}

// The server writes every counter as a string, 64-bit integers being quoted in its JSON.
function summaryHeader(s: Summary): string {
  const out: Record<string, string> = {};
  for (const key of [
    "read_rows",
    "read_bytes",
    "written_rows",
    "written_bytes",
    "total_rows_to_read",
    "result_rows",
    "result_bytes",
    "elapsed_ns",
  ] as const) {
    out[key] = String(Math.round((s as Record<string, number | undefined>)[key] ?? 0));
  }
  return JSON.stringify(out);
}

export interface ResponseMeta {
  queryId: string;
  format: string;
  timezone: string;
  displayName: string;
  /** `send_progress_in_http_headers=1`: an `X-ClickHouse-Progress` header too. */
  progress?: boolean;
}

export function headers(meta: ResponseMeta, summary: Summary): Headers {
  const h = new Headers({
    "Content-Type": contentType(meta.format),
    "X-ClickHouse-Query-Id": meta.queryId,
    "X-ClickHouse-Format": meta.format,
    "X-ClickHouse-Timezone": meta.timezone,
    "X-ClickHouse-Server-Display-Name": meta.displayName,
    "X-ClickHouse-Summary": summaryHeader(summary),
  });
  // A server sends progress headers while the query runs; here the one it would send last, with
  // the headers (the engine reports no progress while a query runs).
  if (meta.progress) h.set("X-ClickHouse-Progress", summaryHeader(summary));
  return h;
}

export function errorResponse(ex: Exception, meta: Partial<ResponseMeta>): Response {
  const h = new Headers({
    "Content-Type": "text/plain; charset=UTF-8",
    "X-ClickHouse-Exception-Code": String(ex.code),
  });
  if (meta.queryId) h.set("X-ClickHouse-Query-Id", meta.queryId);
  if (meta.timezone) h.set("X-ClickHouse-Timezone", meta.timezone);
  if (meta.displayName) h.set("X-ClickHouse-Server-Display-Name", meta.displayName);
  return new Response(ex.text, { status: ex.status, headers: h });
}

/**
 * An exception after the headers went out, in the framing ClickHouse 25.11+ uses (the client
 * finds it by the X-ClickHouse-Exception-Tag header's value): clients then fail the read instead
 * of taking a truncated result for a whole one.
 */
export function streamedException(text: string, tag: string): Uint8Array {
  const message = `${text.trimEnd()}\n`;
  const length = Buffer.byteLength(message);
  return Buffer.from(`\r\n__exception__\r\n${tag}\r\n${message}${length} ${tag}\r\n__exception__\r\n`);
}
