export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
type Fields = Record<string, unknown>;

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    const out: Fields = { name: value.name, message: value.message };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    if (value.cause !== undefined) out.cause = serialise(value.cause);
    return out;
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}

/**
 * Characters that can make a log line lie when it is shown: C0/C1 controls and DEL (a newline
 * starts a forged line, ESC and CSI drive the terminal, NUL truncates), line and paragraph
 * separators, and the bidirectional overrides that reorder what a reader sees.
 */
const UNSAFE = /[\p{Cc}\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

const hex = (ch: string, width: number) => (ch.codePointAt(0) ?? 0).toString(16).padStart(width, "0");

/**
 * Text for a terminal with every unsafe character shown as an escape (`\n`, `\x1b`, `\u202e`),
 * never written raw: a request path or header that reaches a log cannot start a line of its own.
 */
export function showControl(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    if (ch === "\n") return "\\n";
    if (ch === "\r") return "\\r";
    if (ch === "\t") return "\\t";
    return ch.charCodeAt(0) <= 0xff ? `\\x${hex(ch, 2)}` : `\\u${hex(ch, 4)}`;
  });
}

/**
 * A JSON log line with the characters `JSON.stringify` leaves raw (DEL, C1 controls, U+2028,
 * bidirectional overrides) escaped as `\uXXXX` too: still the same JSON, safe in any viewer.
 */
export const jsonLine = (record: unknown) =>
  JSON.stringify(record).replace(UNSAFE, (ch) => `\\u${hex(ch, 4)}`);

/** One JSON object per line on stdout (errors on stderr), with the component that wrote it. */
export function createLogger(
  component: string,
  level: LogLevel = "info",
  base: Fields = {},
  write: (line: string, isError: boolean) => void = (line, isError) =>
    (isError ? process.stderr : process.stdout).write(`${line}\n`),
): Logger {
  const emit = (lvl: Exclude<LogLevel, "silent">, msg: string, fields?: Fields) => {
    if (rank[lvl] < rank[level]) return;
    const record: Fields = { time: new Date().toISOString(), level: lvl, component, msg, ...base };
    for (const [key, value] of Object.entries(fields ?? {})) record[key] = serialise(value);
    write(jsonLine(record), lvl === "error");
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
    child: (fields) => createLogger(component, level, { ...base, ...fields }, write),
  };
}
