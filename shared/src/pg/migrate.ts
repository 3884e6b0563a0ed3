import { join } from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import type { Logger } from "../config/logger.ts";

export const migrationsFolder = join(import.meta.dir, "..", "..", "drizzle");

// Any constant works: it only has to be the same for every process migrating one database.
const MIGRATION_LOCK = 0x616470; // "adp"

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, "")) || "postgres";
}

/** Creates the database `url` names when it does not exist yet; reports whether it did. */
export async function ensureDatabase(url: string): Promise<boolean> {
  const name = databaseName(url);
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (exists.rowCount) return false;
    await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
    return true;
  } catch (err) {
    // Another process created it between the check and the CREATE.
    if ((err as { code?: string }).code === "42P04") return false;
    throw err;
  } finally {
    await client.end();
  }
}

/**
 * Applies the drizzle-kit migrations in order, each once. An advisory lock lets several services
 * start at the same moment; drizzle records what ran in `drizzle.__drizzle_migrations`.
 */
export async function migrateOltp(url: string, logger?: Logger): Promise<void> {
  const created = await ensureDatabase(url);
  if (created) logger?.info("created database", { database: databaseName(url) });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SET client_min_messages = warning");
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await migrate(drizzle(client), { migrationsFolder });
    logger?.info("PostgreSQL schema up to date", { database: databaseName(url) });
  } finally {
    await client.end();
  }
}
