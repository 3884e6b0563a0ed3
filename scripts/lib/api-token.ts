import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * `home` created owner-only (0700), or made so: it holds the secrets, and the data folders of
 * PostgreSQL, NATS and ClickHouse, whose files their servers write world-readable.
 */
export function privateFolder(home: string): void {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  chmodSync(home, 0o700);
}

/**
 * A secret kept in `<home>/<name>` (owner-only), created at random on the first run and reused
 * after, so a script or a database user that got it once keeps working across restarts.
 */
export function keptSecret(home: string, name: string): { value: string; file: string } {
  const file = join(home, name);
  if (existsSync(file)) {
    const kept = readFileSync(file, "utf8").trim();
    if (kept.length >= 16) return { value: kept, file };
  }
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const value = randomBytes(32).toString("base64url");
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { value, file };
}

/** The control-plane token `bun start` gives every service: ADPIPE_API_TOKEN when set, else kept. */
export function apiToken(home: string, configured: string | undefined): { token: string; file?: string } {
  if (configured) return { token: configured };
  const { value, file } = keptSecret(home, "api-token");
  return { token: value, file };
}
