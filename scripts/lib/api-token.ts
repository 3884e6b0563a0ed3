import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The control-plane token `bun start` gives every service: ADPIPE_API_TOKEN when set, else the
 * one kept in `<home>/api-token` (owner-only), created at random on the first run. Kept, so a
 * script that read it once keeps working across restarts.
 */
export function apiToken(home: string, configured: string | undefined): { token: string; file?: string } {
  if (configured) return { token: configured };
  const file = join(home, "api-token");
  if (existsSync(file)) {
    const kept = readFileSync(file, "utf8").trim();
    if (kept.length >= 16) return { token: kept, file };
  }
  mkdirSync(home, { recursive: true });
  const token = randomBytes(32).toString("base64url");
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, file };
}
