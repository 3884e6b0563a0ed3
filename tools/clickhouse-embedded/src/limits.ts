import { type Exception, exception, toException } from "./exception.ts";

/**
 * Request-size limits, as clickhouse-server has them: a URI up to `http_max_uri_size` (1 MiB by
 * default) and bodies of any size. Bun stops at 16 KiB of request line plus headers and answers
 * 431 with an empty body before any handler runs, which a client reports as an error with no
 * message (issue #13). Bun.serve has no option for it: the limit is the runtime flag
 * `--max-http-header-size`, so whatever starts the server passes `BUN_RUNTIME_ARGS` (spawn.ts,
 * the `clickhouse:embedded` script), and the CLI warns when it was started without it.
 */

/** clickhouse-server's default `http_max_uri_size`. */
export const HTTP_MAX_URI_SIZE = 1_048_576;

/**
 * Bun's limit for the request line and headers together: well above the URI limit, so a URI
 * past 1 MiB still reaches the handler and gets ClickHouse's answer, not Bun's bare 431.
 */
export const BUN_MAX_HTTP_HEADER_SIZE = 8 * HTTP_MAX_URI_SIZE;

export const BUN_RUNTIME_ARGS = [`--max-http-header-size=${BUN_MAX_HTTP_HEADER_SIZE}`] as const;

/** True when this process runs with the header limit the server needs. */
export const runtimeLimitsApplied = (execArgv: readonly string[] = process.execArgv) =>
  execArgv.some((a) => a.startsWith("--max-http-header-size"));

/**
 * A URI (path and query) longer than `http_max_uri_size`, as an exception. clickhouse-server
 * answers it with a bare 400 from its HTTP parser; here it is a 400 with the exception text and
 * code, so a client can tell what happened.
 */
export function uriTooLong(url: URL, version: string): Exception | null {
  const size = Buffer.byteLength(url.pathname) + Buffer.byteLength(url.search);
  if (size <= HTTP_MAX_URI_SIZE) return null;
  return exception(
    36,
    "BAD_ARGUMENTS",
    `HTTP request URI too long: ${size} bytes, more than http_max_uri_size (${HTTP_MAX_URI_SIZE}); send the query and its large values in the request body`,
    version,
  );
}

/** Anything that escaped a handler, in ClickHouse's format (never Bun's bare 500). */
export const unexpected = (err: unknown, version: string): Exception => toException(err, version);
