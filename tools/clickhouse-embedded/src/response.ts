import type { Exception } from "./exception.ts";
import { contentType } from "./formats.ts";

export interface Summary {
  read_rows?: number;
  read_bytes?: number;
  written_rows?: number;
  written_bytes?: number;
  total_rows_to_read?: number;
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
  /** `send_progress_in_http_headers=1`: `X-ClickHouse-Progress` headers too. */
  progress?: boolean;
  /** What the engine reported while the query ran (progress.ts), oldest first. */
  snapshots?: readonly Summary[];
}

export function headers(meta: ResponseMeta, given: Summary): Headers {
  // A streamed answer knows no rows read of its own: the engine's last report has them.
  const latest = meta.snapshots?.at(-1);
  const summary: Summary =
    given.read_rows === undefined && latest
      ? {
          ...given,
          read_rows: latest.read_rows,
          read_bytes: latest.read_bytes,
          total_rows_to_read: latest.total_rows_to_read,
        }
      : given;
  const h = new Headers({
    "Content-Type": contentType(meta.format),
    "X-ClickHouse-Query-Id": meta.queryId,
    "X-ClickHouse-Format": meta.format,
    "X-ClickHouse-Timezone": meta.timezone,
    "X-ClickHouse-Server-Display-Name": meta.displayName,
    "X-ClickHouse-Summary": summaryHeader(summary),
  });
  // One header per report taken while the query ran, then the counters as the headers go out.
  if (meta.progress) {
    for (const s of meta.snapshots ?? []) h.append("X-ClickHouse-Progress", summaryHeader(s));
    h.append("X-ClickHouse-Progress", summaryHeader(summary));
  }
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
