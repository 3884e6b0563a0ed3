import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import type { Logger } from "../config/logger.ts";
import { createClickHouse } from "./clickhouse.ts";
import { renderForCluster } from "./olap-cluster.ts";

/** Numbered ClickHouse DDL files (`0001_entities.sql`, ...), applied in order. */
export const olapMigrationsFolder = join(import.meta.dir, "..", "..", "clickhouse");

/** Where the migrator records what ran, inside the migrated database. */
export const OLAP_MIGRATIONS_TABLE = "schema_migrations";

export interface OlapMigration {
  version: number;
  name: string;
  checksum: string;
  /** Statements with `{database}` still in place. */
  statements: string[];
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// A run can stop anywhere (a crash, a deploy, two services starting at once); only statements
// that are no-ops the second time make "run the whole file again" a safe way to resume.
// `INSERT INTO ... SELECT` is let through for copies into a table where a row stored twice reads
// as once (a ReplacingMergeTree whose readers take the newest version per key): the file says so.
// `RENAME TABLE` is let through for the copy-and-swap of a table whose key column changes type
// (ClickHouse refuses that ALTER): the file drops what a previous run left before it, creates the
// copy IF NOT EXISTS and fills it, so the whole sequence is safe to run again (0011_ids_64_bit).
const IDEMPOTENT =
  /^(CREATE\s+(TABLE|DATABASE|VIEW|MATERIALIZED\s+VIEW|DICTIONARY|FUNCTION)\s+IF\s+NOT\s+EXISTS|CREATE\s+OR\s+REPLACE|DROP\s+\w+(\s+\w+)?\s+IF\s+EXISTS|ALTER\s+TABLE\s+\S+\s+(ADD|DROP|MODIFY|CLEAR|MATERIALIZE)\s+\w+\s+IF\s+(NOT\s+)?EXISTS|INSERT\s+INTO\s+\S+\s+SELECT|RENAME\s+TABLE)\b/i;

/** Splits a file into statements: `;` at the end of a line ends one; `--` lines are comments. */
export function splitStatements(sql: string): string[] {
  const withoutComments = sql
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("--"))
    .join("\n");
  return withoutComments
    .split(/;[ \t]*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function loadOlapMigrations(folder = olapMigrationsFolder): OlapMigration[] {
  return readdirSync(folder)
    .filter((f) => FILE.test(f))
    .sort()
    .map((file) => {
      const [, version, name] = FILE.exec(file) as RegExpExecArray;
      const text = readFileSync(join(folder, file), "utf8");
      const statements = splitStatements(text);
      for (const statement of statements) {
        if (!IDEMPOTENT.test(statement))
          throw new Error(
            `${file}: every statement must be safe to re-run (IF NOT EXISTS, OR REPLACE, IF EXISTS, INSERT INTO ... SELECT, RENAME TABLE in a copy-and-swap): ${statement.slice(0, 80)}`,
          );
      }
      return {
        version: Number(version),
        name: `${version}_${name}`,
        checksum: createHash("sha256").update(text).digest("hex"),
        statements,
      };
    });
}

export interface OlapMigrateOptions {
  /**
   * `CLICKHOUSE_CLUSTER`: the name of a cluster in the servers' `remote_servers` whose replicas
   * (with ClickHouse Keeper) hold the schema. Statements then run ON CLUSTER with Replicated*
   * engines, and the record of what ran is a replicated table too, so it is written once for
   * the whole cluster and read the same from every replica.
   */
  cluster?: string;
}

/**
 * Brings `database` up to the latest OLAP schema: creates it if missing, applies each migration
 * not yet recorded in `<database>.schema_migrations`, in order, and records it once all its
 * statements ran. Re-running is a no-op; a run that stopped half-way through a file resumes by
 * running that file again (its statements are idempotent, which `loadOlapMigrations` checks).
 * An applied file whose text changed is refused: write a new migration instead.
 *
 * `client` must not name a database that may not exist yet: a server answers every request made
 * with an unknown `database` with UNKNOWN_DATABASE, the CREATE DATABASE too. The SQL files name
 * tables as `{database}.<table>`, so the migrating client needs no database of its own.
 */
export async function migrateOlap(
  client: ClickHouseClient,
  database: string,
  logger?: Logger,
  migrations: OlapMigration[] = loadOlapMigrations(),
  options: OlapMigrateOptions = {},
): Promise<{ applied: string[] }> {
  if (!IDENTIFIER.test(database))
    throw new Error(`invalid ClickHouse database name ${JSON.stringify(database)}`);
  const { cluster } = options;
  // On a cluster every statement, the migrator's own included, runs ON CLUSTER with replicated
  // engines (olap-cluster.ts); without one the files' text is sent as it is.
  const render = cluster ? (query: string) => renderForCluster(query, cluster) : (query: string) => query;
  const run = (query: string) => client.command({ query: render(query).replaceAll("{database}", database) });
  await run("CREATE DATABASE IF NOT EXISTS {database}").catch((err) => {
    if ((err as { code?: string }).code !== "81") throw err;
    throw new Error(
      "migrateOlap needs a client created without `database` (that database does not exist yet)",
      {
        cause: err,
      },
    );
  });
  await run(
    `CREATE TABLE IF NOT EXISTS {database}.${OLAP_MIGRATIONS_TABLE} (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = ReplacingMergeTree(applied_at) ORDER BY version`,
  );
  const done = await client
    .query({
      query: `SELECT version, name, checksum FROM ${database}.${OLAP_MIGRATIONS_TABLE} FINAL`,
      format: "JSONEachRow",
    })
    .then((r) => r.json<{ version: number; name: string; checksum: string }>());
  const recorded = new Map(done.map((m) => [m.version, m]));
  const applied: string[] = [];
  for (const migration of migrations) {
    const previous = recorded.get(migration.version);
    if (previous) {
      if (previous.checksum !== migration.checksum)
        throw new Error(
          `ClickHouse migration ${migration.name} changed after it was applied; add a new migration instead`,
        );
      continue;
    }
    for (const statement of migration.statements) await run(statement);
    await client.insert({
      table: `${database}.${OLAP_MIGRATIONS_TABLE}`,
      values: [{ version: migration.version, name: migration.name, checksum: migration.checksum }],
      format: "JSONEachRow",
    });
    applied.push(migration.name);
    logger?.info("applied ClickHouse migration", { database, migration: migration.name });
  }
  logger?.info("ClickHouse schema up to date", { database, applied: applied.length });
  return { applied };
}

/**
 * What a service does at start: unless `migrate` is false (its user cannot change the schema and
 * the owner migrated before it started), migrate through a client that names no database (on a fresh
 * server the database does not exist yet, and a request naming a missing one fails before its
 * CREATE DATABASE can run), then return a client whose unqualified names resolve in it.
 */
export async function connectMigratedClickHouse(
  server: { url: string; user: string; password: string; cluster?: string; migrate?: boolean },
  database: string,
  logger?: Logger,
): Promise<ClickHouseClient> {
  const { cluster, migrate = true, ...connection } = server;
  if (!migrate) return createClickHouse({ ...connection, database });
  const admin = createClickHouse(connection);
  await migrateOlap(admin, database, logger, undefined, { cluster }).finally(() => admin.close());
  return createClickHouse({ ...connection, database });
}
