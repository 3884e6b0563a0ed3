import pg from "pg";
import { migrateOltp } from "../pg/migrate.ts";

/** The server tests create their databases on (trust auth on the CI machine). */
export const testServerUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export const uniqueName = (prefix: string) =>
  `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A database of its own for one test file, migrated unless `migrate: false`; `drop()` removes it. */
export async function createTestDatabase({ migrate = true } = {}): Promise<TestDatabase> {
  const name = uniqueName("adpipe_test");
  const url = new URL(testServerUrl);
  url.pathname = `/${name}`;
  if (migrate) {
    await migrateOltp(url.toString());
  } else {
    const admin = new pg.Client({ connectionString: testServerUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
  }
  return {
    name,
    url: url.toString(),
    async drop() {
      const admin = new pg.Client({ connectionString: testServerUrl });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 20_000, intervalMs = 50, what = "condition" } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      lastError = err;
    }
    await Bun.sleep(intervalMs);
  }
  const suffix = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${suffix}`);
}

export { freePort, freePorts } from "./ports.ts";

/**
 * A service process's address: resolves with the `url` of its `listening` log line on stdout
 * (spawned with `stdout: "pipe"`), then keeps draining stdout so the process never blocks on a
 * full pipe. Rejects if the process exits first; a process killed on purpose may leave it
 * unawaited (it never rejects unhandled).
 */
export function listeningUrl(stdout: ReadableStream<Uint8Array>, what = "the service"): Promise<string> {
  const url = (async () => {
    const reader = stdout.getReader();
    const decoder = new TextDecoder();
    let seen = "";
    while (true) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${what} exited before listening`);
      seen += decoder.decode(value, { stream: true });
      const match = seen.match(/"msg":"listening","url":"([^"]+)"/);
      if (match?.[1]) {
        void (async () => {
          while (!(await reader.read()).done);
        })().catch(() => {});
        return match[1];
      }
    }
  })();
  url.catch(() => {});
  return url;
}
