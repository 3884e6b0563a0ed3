import { type ClickHouseClient, ClickHouseLogLevel, createClient } from "@clickhouse/client";

export type { ClickHouseClient } from "@clickhouse/client";
export { ClickHouseError } from "@clickhouse/client";

export interface ClickHouseConfig {
  url: string;
  user: string;
  password: string;
  /** The database unqualified names resolve in; the server's default when omitted. */
  database?: string;
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
    application: "adpipe",
    // Callers handle (and log, once) the errors the client throws; its own logging would repeat them.
    log: { level: ClickHouseLogLevel.OFF },
  });
}
