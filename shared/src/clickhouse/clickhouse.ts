import { type ClickHouseClient, ClickHouseLogLevel, createClient } from "@clickhouse/client";

export type { ClickHouseClient } from "@clickhouse/client";
export { ClickHouseError } from "@clickhouse/client";

export interface ClickHouseConfig {
  url: string;
  user: string;
  password: string;
  /** The database unqualified names resolve in; the server's default when omitted. */
  database?: string;
  /** How long one request may take; the client's default (30 s) when omitted. */
  requestTimeoutMs?: number;
}

/**
 * The one way adpipe talks to ClickHouse: the official client over HTTP, the same against a
 * production server, ClickHouse Cloud or the embedded server.
 */
export function createClickHouse(config: ClickHouseConfig): ClickHouseClient {
  return createClient({
    url: config.url,
    username: config.user,
    password: config.password,
    database: config.database,
    request_timeout: config.requestTimeoutMs,
    application: "adpipe",
    // Callers handle (and log, once) the errors the client throws; its own logging would repeat them.
    log: { level: ClickHouseLogLevel.OFF },
  });
}

/**
 * Rows of a SELECT as objects, integers as JSON numbers (the counts and ids adpipe reads stay far
 * below 2^53; a server quotes 64-bit integers by default).
 */
export async function queryRows<T>(
  clickhouse: ClickHouseClient,
  query: string,
  params: Record<string, unknown> = {},
): Promise<T[]> {
  const rs = await clickhouse.query({
    query,
    query_params: params,
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return (await rs.json()) as T[];
}

/** A `/ready` check: resolves when ClickHouse answers its ping, throws its error otherwise. */
export async function pingClickHouse(clickhouse: ClickHouseClient): Promise<void> {
  const r = await clickhouse.ping();
  if (!r.success) throw r.error;
}
