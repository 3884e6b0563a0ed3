/**
 * What one HTTP request to ClickHouse's interface asks for, read the way clickhouse-server reads
 * it: URL parameters, the X-ClickHouse-* headers and basic auth.
 */
export interface QueryRequest {
  /** The SQL from the URL (`query=`), possibly only the prefix of an INSERT whose data is the body. */
  urlQuery: string;
  database?: string;
  defaultFormat?: string;
  queryId: string;
  user: string;
  password: string;
  /** `param_<name>` values, still in ClickHouse's escaped text form. */
  params: Record<string, string>;
  /** Every other URL parameter: a ClickHouse setting for this query only. */
  settings: Record<string, string>;
  waitEndOfQuery: boolean;
  readonly: boolean;
  /** `session_id`, `session_timeout` (seconds), `session_check` (sessions.ts). */
  sessionId?: string;
  sessionTimeout?: string;
  sessionCheck: boolean;
}

/** URL parameters the HTTP handler itself consumes; the rest are settings. */
const HANDLER_PARAMS = new Set([
  "query",
  "database",
  "default_format",
  "query_id",
  "user",
  "password",
  "quota_key",
  "session_id",
  "session_timeout",
  "session_check",
  "compress",
  "decompress",
  "buffer_size",
  "wait_end_of_query",
  "role",
  "stacktrace",
  "client_protocol_version",
]);

function basicAuth(header: string | null): { user?: string; password?: string } {
  if (!header?.toLowerCase().startsWith("basic ")) return {};
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0
    ? { user: decoded }
    : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function parseQueryRequest(req: Request, url: URL): QueryRequest {
  const q = url.searchParams;
  const h = req.headers;
  const basic = basicAuth(h.get("authorization"));
  const params: Record<string, string> = {};
  const settings: Record<string, string> = {};
  for (const [key, value] of q) {
    if (key.startsWith("param_")) params[key.slice(6)] = value;
    else if (!HANDLER_PARAMS.has(key)) settings[key] = value;
  }
  return {
    urlQuery: q.get("query") ?? "",
    database: q.get("database") ?? h.get("x-clickhouse-database") ?? undefined,
    defaultFormat: q.get("default_format") ?? h.get("x-clickhouse-format") ?? undefined,
    queryId: q.get("query_id") || crypto.randomUUID(),
    user: h.get("x-clickhouse-user") ?? basic.user ?? q.get("user") ?? "default",
    password: h.get("x-clickhouse-key") ?? basic.password ?? q.get("password") ?? "",
    params,
    settings,
    waitEndOfQuery: ["1", "true"].includes(q.get("wait_end_of_query") ?? ""),
    sessionId: q.get("session_id") || undefined,
    sessionTimeout: q.get("session_timeout") ?? undefined,
    sessionCheck: ["1", "true"].includes(q.get("session_check") ?? ""),
    // A GET cannot change data on a server (readonly=2 still lets it change settings).
    readonly: req.method === "GET" || req.method === "HEAD",
  };
}

const quote = (value: string) => `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
const isIdentifier = (name: string) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
export const quoteIdentifier = (name: string) =>
  `\`${name.replaceAll("\\", "\\\\").replaceAll("`", "\\`")}\``;

/**
 * The statements that prepare a fresh connection for one query: server-like defaults, the URL's
 * settings, query parameters (`SET param_x = '...'` keeps the value's escaped text form, exactly
 * as the HTTP handler hands `param_x` to the query) and the current database.
 */
export function preparationStatements(
  request: QueryRequest,
  defaults: Readonly<Record<string, string>>,
): { statements: string[]; invalid?: string } {
  const assignments: string[] = [];
  const all = { ...defaults, ...request.settings, ...(request.readonly ? { readonly: "2" } : {}) };
  for (const [name, value] of Object.entries(all)) {
    if (!isIdentifier(name)) return { statements: [], invalid: `setting name ${JSON.stringify(name)}` };
    assignments.push(`${name} = ${quote(value)}`);
  }
  for (const [name, value] of Object.entries(request.params)) {
    if (!isIdentifier(name))
      return { statements: [], invalid: `query parameter name ${JSON.stringify(name)}` };
    assignments.push(`param_${name} = ${quote(value)}`);
  }
  const statements = assignments.length ? setStatements(assignments, all) : [];
  if (request.database) statements.unshift(`USE ${quoteIdentifier(request.database)}`);
  return { statements };
}

/** clickhouse-server's and clickhouse-local's default `max_query_size`. */
const DEFAULT_MAX_QUERY_SIZE = 262_144;

/**
 * A server hands URL parameters to the query without parsing them as SQL, so only the URI limit
 * bounds them (1 MiB). Here they ride in a SET, which the parser bounds by `max_query_size`: a SET
 * larger than that lifts the limit for itself, and restores the query's own value in the same
 * statement.
 */
function setStatements(assignments: string[], settings: Readonly<Record<string, string>>): string[] {
  const statement = `SET ${assignments.join(", ")}`;
  const bytes = Buffer.byteLength(statement);
  if (bytes < DEFAULT_MAX_QUERY_SIZE / 2) return [statement];
  const restore = settings.max_query_size === undefined ? `, max_query_size = ${DEFAULT_MAX_QUERY_SIZE}` : "";
  return [`SET max_query_size = ${bytes * 2 + 1024}`, `${statement}${restore}`];
}
