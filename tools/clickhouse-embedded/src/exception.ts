/** A ClickHouse exception as the HTTP interface reports it: code, text and HTTP status. */
export interface Exception {
  code: number;
  /** `Code: N. DB::Exception: ... (NAME) (version X)`, as clickhouse-server writes it. */
  text: string;
  status: number;
}

// The mapping clickhouse-server's HTTPHandler applies (exceptionCodeToHTTPStatus), for the codes
// a client meets in practice; everything else is 500 there too.
const FORBIDDEN = [164, 192, 193, 194, 195, 291, 497, 516];
const BAD_REQUEST = [
  6, 25, 26, 27, 32, 33, 36, 38, 41, 42, 43, 44, 53, 62, 69, 70, 72, 80, 115, 117, 130, 131, 166, 396, 456,
  457,
];
const NOT_FOUND = [16, 47, 60, 73, 81, 83, 170];
const statusFor = (code: number) =>
  FORBIDDEN.includes(code)
    ? 403
    : BAD_REQUEST.includes(code)
      ? 400
      : NOT_FOUND.includes(code)
        ? 404
        : code === 202
          ? 503
          : code === 159
            ? 504
            : 500;

/**
 * chDB's raw-insert entry wraps the engine's exception in another of the same code:
 * `Code: 108. DB::Exception: Code: 108. DB::Exception: No data ... (version X). (NAME)`. A server
 * reports the inner one only.
 */
function unwrapped(message: string): string {
  const m =
    /^Code: (\d+)\. DB::Exception: (Code: \1\. DB::Exception: [\s\S]*?)(?: \(version [^)]*\))?\. \([A-Z_]+\)\s*$/.exec(
      message,
    );
  return m?.[2] ?? message;
}

/** From a chdb error (`clickhouseCode`, `Code: N. DB::Exception: ...` message) or anything else. */
export function toException(err: unknown, version: string): Exception {
  const message = unwrapped(err instanceof Error ? err.message : String(err));
  const fromMessage = /^Code: (\d+)\./.exec(message)?.[1];
  const raw = (err as { clickhouseCode?: unknown }).clickhouseCode;
  const code = typeof raw === "number" ? raw : fromMessage ? Number(fromMessage) : 1001;
  const body = fromMessage ? message : `Code: ${code}. DB::Exception: ${message}. (STD_EXCEPTION)`;
  return { code, text: `${body.trimEnd()} (version ${version})\n`, status: statusFor(code) };
}

export function exception(code: number, name: string, message: string, version: string): Exception {
  return toException(new Error(`Code: ${code}. DB::Exception: ${message}. (${name})`), version);
}
