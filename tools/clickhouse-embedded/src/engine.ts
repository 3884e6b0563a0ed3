import { chmodSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { Session } from "chdb";

/**
 * Where clickhouse-local (and so chDB) differs from clickhouse-server, the server's value, so
 * results read the same as against a real server. Found with
 * `SELECT name, value, default FROM system.settings WHERE changed` in chDB.
 */
export const SERVER_DEFAULTS: Readonly<Record<string, string>> = {
  output_format_json_quote_64bit_integers: "1",
  implicit_select: "0",
  allow_introspection_functions: "0",
};

/** The raw-bytes insert entry of chdb's addon: `prefix` is any `INSERT ... FORMAT X` statement. */
type InsertRaw = (
  connection: unknown,
  prefix: string,
  data: Buffer,
  countLines: boolean,
) => Promise<{ rowsWritten: number; bytesWritten: number; elapsed: number }>;

// chdb's public `insert()` only builds `INSERT INTO <t> (<cols>) FORMAT <text format>` itself; the
// HTTP interface needs the client's own statement (SETTINGS, input(), binary formats) in front of
// the bytes, which is exactly what the addon's entry takes. The addon is the one chdb already
// loaded (Node caches native modules by path), so connections are shared with Session.
const require = createRequire(import.meta.url);
const chdbDir = dirname(require.resolve("chdb/package.json"));
const native = require(join(chdbDir, "dist", "loader.js")).loadNative() as {
  InsertRawAsyncConnection: InsertRaw;
};

export interface Engine {
  readonly path: string;
  readonly version: string;
  /** The server's time zone, which DateTime columns without one of their own use. */
  readonly timezone: string;
  /** A connection of its own (own settings, current database, stream cursor); close it after use. */
  connect(): Connection;
  close(): void;
}

export interface Connection {
  session: Session;
  insertRaw(prefix: string, data: Buffer): ReturnType<InsertRaw>;
  close(): void;
}

/**
 * Opens the one chDB engine this process may have, on `dataDir` (created if missing). Every
 * request gets a connection of its own: connections on one path share the engine and its data
 * but not their settings, so a request's `SET`s never leak into another's.
 */
export function openEngine(dataDir: string): Engine {
  const path = resolve(dataDir);
  // Owner-only: chDB writes its files world-readable (umask 022), and they hold every table.
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
  // The first session binds the process to the directory and stays open for the server's life.
  const root = new Session(path);
  const [version = "", timezone = "UTC"] = root
    .query("SELECT version(), timezone()", "TSVRaw")
    .trim()
    .split("\t");
  const connect = (): Connection => {
    const session = new Session(path);
    return {
      session,
      insertRaw: (prefix, data) => native.InsertRawAsyncConnection(session.connection, prefix, data, false),
      close: () => session.close(),
    };
  };
  return { path, version, timezone, connect, close: () => root.close() };
}
