import pg from "pg";
import type { Logger } from "../config/logger.ts";

// DATE and TIMESTAMP WITHOUT TIME ZONE come back as the text PostgreSQL wrote, never shifted
// through the process time zone; BIGINT (INT8: ids, versions) comes back as text so values past
// 2^53 are never rounded through a float. NUMERIC (money) is text in pg's default already.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);
pg.types.setTypeParser(pg.types.builtins.TIMESTAMP, (v) => v);
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  connectionString: string;
  max?: number;
  applicationName?: string;
  logger?: Logger;
}

/** A pool whose idle-client errors are logged rather than crashing the process. */
export function createPool({ connectionString, max = 10, applicationName, logger }: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    application_name: applicationName,
    connectionTimeoutMillis: 5000,
  });
  pool.on("error", (err) => logger?.warn("idle PostgreSQL client failed", { err }));
  // A session the server drops while a caller holds it emits "error" on its client; with nobody
  // listening that would end the process. The caller's statement fails (and is handled) anyway.
  pool.on("connect", (client) => {
    client.on("error", (err) => logger?.debug("PostgreSQL session ended", { err: err.message }));
  });
  return pool;
}

/** Runs `fn` in one transaction: committed if it resolves, rolled back if it throws. */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
