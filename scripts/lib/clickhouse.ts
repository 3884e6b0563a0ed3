import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { EmbeddedUsers } from "@adpipe/clickhouse-embedded/access";
import { spawnEmbeddedClickHouse } from "@adpipe/clickhouse-embedded/spawn";
import { createClickHouse } from "@adpipe/shared/clickhouse";
import type { Logger } from "@adpipe/shared/logger";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
import { keptSecret } from "./api-token.ts";
import { clickhouseUsersConfig } from "./least-privilege.ts";
import { StartError } from "./ports.ts";

export interface ClickHouseTarget {
  url: string;
  user: string;
  password: string;
  database: string;
}

export interface RunningClickHouse {
  url: string;
  /** Resolves when the server process ends on its own (never for a server we did not start). */
  exited: Promise<number>;
  stop(): Promise<void>;
}

/**
 * The embedded server (chDB behind ClickHouse's HTTP interface) with its data in
 * `<stateDir>/clickhouse` and its output in `<stateDir>/clickhouse.log`. It runs in its own
 * process group so Ctrl-C reaches only `bun start`, which stops it after the services; it also
 * exits by itself if `bun start` is killed (`--parent-pid`).
 */
export async function startEmbeddedClickHouse(
  stateDir: string,
  port: number,
  { owner, users }: { owner: { user: string; password: string }; users?: EmbeddedUsers },
): Promise<RunningClickHouse> {
  const dataDir = join(stateDir, "clickhouse");
  try {
    // Owner-only, like the state folder around it (the server makes it so too).
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const server = await spawnEmbeddedClickHouse({
      dataDir,
      port,
      logFile: join(stateDir, "clickhouse.log"),
      detached: true,
      startTimeoutMs: 60_000,
      ...owner,
      users,
    });
    return { url: server.url, exited: server.exited, stop: server.stop };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new StartError(`${why} (data in ${dataDir}; or set CLICKHOUSE_URL to use a running server)`);
  }
}

/**
 * Creates the database and applies the OLAP migrations. The migrating client names no database:
 * a server answers every request that names a missing one with UNKNOWN_DATABASE, the CREATE
 * DATABASE too (docs/clickhouse.md, "OLAP schema and migrations").
 */
export async function migrateClickHouse(target: ClickHouseTarget, logger: Logger): Promise<void> {
  const admin = createClickHouse({ url: target.url, user: target.user, password: target.password });
  try {
    await migrateOlap(admin, target.database, logger);
  } catch (err) {
    throw new StartError(
      `ClickHouse at ${target.url}: migration failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  } finally {
    await admin.close();
  }
}

/**
 * `bun start`'s embedded ClickHouse: the components' users (least-privilege.ts) and the owner,
 * whose password is the configured one or one made once and kept owner-only in `home`
 * (`clickhouse-owner-password`): every caller authenticates, the owner too.
 */
export async function startOwnClickHouse(
  home: string,
  port: number,
  database: string,
  configured: { user: string; password: string },
) {
  const users = clickhouseUsersConfig(home, database);
  const kept = configured.password ? undefined : keptSecret(home, "clickhouse-owner-password");
  const owner = { user: configured.user, password: kept?.value ?? configured.password };
  const server = await startEmbeddedClickHouse(home, port, { owner, users: users.users });
  return { ...server, owner, ownerPasswordFile: kept?.file, reader: users.reader, env: users.env };
}
