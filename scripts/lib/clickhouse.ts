import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { EmbeddedUsers } from "@adpipe/clickhouse-embedded/access";
import { spawnEmbeddedClickHouse } from "@adpipe/clickhouse-embedded/spawn";
import { createClickHouse } from "@adpipe/shared/clickhouse";
import type { Logger } from "@adpipe/shared/logger";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
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
 * DATABASE too (docs/clickhouse.md).
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
