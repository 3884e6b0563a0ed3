import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClickHouseClient, createClickHouse } from "@adpipe/shared/clickhouse";
import { uniqueName } from "@adpipe/shared/testing";
import type { EmbeddedUsers } from "./access.ts";
import { type EmbeddedClickHouse, spawnEmbeddedClickHouse } from "./spawn.ts";

export interface TestClickHouse {
  url: string;
  /** The owner's credentials (a password made for this server unless the test gave one). */
  user: string;
  password: string;
  /** CLICKHOUSE_URL / _USER / _PASSWORD / _DATABASE for a service process on this server as its owner. */
  env(): Record<string, string>;
  /** A database of this test file's own, created empty. */
  database: string;
  /** A client whose unqualified names resolve in `database`. */
  client: ClickHouseClient;
  /** The server's data directory (a temporary folder removed by `stop()`). */
  dataDir: string;
  /** The running server process (replaced by `restart()`). */
  server: EmbeddedClickHouse;
  /** Stops the server (SIGTERM, or SIGKILL with `crash`) and starts it again on the same data and port. */
  restart(options?: { crash?: boolean }): Promise<void>;
  /** Another client on the same server, e.g. for a second database or after a restart. */
  connect(database?: string): ClickHouseClient;
  /** Drops the database, closes clients, stops the server and removes its folder. */
  stop(): Promise<void>;
}

/**
 * One embedded ClickHouse server per test file, in a temporary folder, with a fresh database:
 * `const ch = await startTestClickHouse()` in `beforeAll`, `await ch.stop()` in `afterAll`.
 */
export async function startTestClickHouse(
  given: { user?: string; password?: string; users?: EmbeddedUsers } = {},
): Promise<TestClickHouse> {
  const dataDir = mkdtempSync(join(tmpdir(), "adpipe-ch-test-"));
  // Tests run the server as adpipe does: every caller authenticates, the owner too.
  const options = { ...given, password: given.password ?? randomBytes(16).toString("hex") };
  const user = options.user ?? "default";
  let server = await spawnEmbeddedClickHouse({ dataDir, ...options });
  const database = uniqueName("adpipe_test");
  const clients: ClickHouseClient[] = [];
  const connect = (db?: string) => {
    const client = createClickHouse({
      url: server.url,
      user,
      password: options.password,
      database: db,
    });
    clients.push(client);
    return client;
  };
  await connect().command({ query: `CREATE DATABASE ${database}` });
  const client = connect(database);
  return {
    url: server.url,
    user,
    password: options.password,
    env: () => ({
      CLICKHOUSE_URL: server.url,
      CLICKHOUSE_USER: user,
      CLICKHOUSE_PASSWORD: options.password,
      CLICKHOUSE_DATABASE: database,
    }),
    database,
    client,
    dataDir,
    get server() {
      return server;
    },
    async restart({ crash = false } = {}) {
      await (crash ? server.kill() : server.stop());
      server = await spawnEmbeddedClickHouse({ dataDir, port: server.port, ...options });
    },
    connect,
    async stop() {
      try {
        // The OLAP migrations also create `<database>_seed` (the original design's views).
        for (const db of [`${database}_seed`, database])
          await connect()
            .command({ query: `DROP DATABASE IF EXISTS ${db}` })
            .catch(() => undefined);
        await Promise.all(clients.map((c) => c.close()));
      } finally {
        await server.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
