import type { Connection, Engine } from "./engine.ts";
import { type Exception, exception } from "./exception.ts";
import { quoteIdentifier } from "./http-request.ts";

/**
 * HTTP sessions (`session_id`), as clickhouse-server keeps them: one engine connection per user
 * and session id, so `SET`, `USE` and temporary tables carry from one request to the next; it is
 * closed `session_timeout` seconds (default 60, at most 3600) after its last request ended. One
 * request at a time per session (SESSION_IS_LOCKED otherwise, as on a server); a user holds at most
 * `MAX_PER_USER` sessions. A request's URL settings and `database` apply to that request only:
 * they are set on the session's connection for it and put back after it.
 */
const DEFAULT_TIMEOUT_S = 60;
const MAX_TIMEOUT_S = 3600;
const MAX_PER_USER = 32;

interface Held {
  connection: Connection;
  busy: boolean;
  timeoutMs: number;
  timer?: ReturnType<typeof setTimeout>;
}

export interface Lease {
  connection: Connection;
  /** Puts back what the request changed for itself, then frees the session. */
  release(): Promise<void>;
}

const quote = (value: string) => `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

export function httpSessions(engine: Engine, version: string) {
  const held = new Map<string, Held>();
  const key = (user: string, id: string) => `${user}\u0000${id}`;
  const count = (user: string) => [...held.keys()].filter((k) => k.startsWith(`${user}\u0000`)).length;

  const refuse = (code: number, name: string, message: string, status: number): { refused: Exception } => ({
    refused: { ...exception(code, name, message, version), status },
  });

  function close(k: string) {
    const s = held.get(k);
    if (!s) return;
    held.delete(k);
    clearTimeout(s.timer);
    s.connection.close();
  }

  return {
    /**
     * The session's connection for one request, with `settings` (names) and `database` to be
     * restored when it is released; or the refusal.
     */
    async acquire(
      user: string,
      id: string,
      options: {
        timeout?: string;
        check: boolean;
        settings: string[];
        database?: string;
        /** Prepares a session's connection when it is opened (the server's defaults). */
        onOpen: (connection: Connection) => Promise<void>;
      },
    ): Promise<{ lease: Lease } | { refused: Exception }> {
      const timeout = options.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(options.timeout);
      if (!Number.isFinite(timeout) || timeout < 0 || timeout > MAX_TIMEOUT_S)
        return refuse(
          374,
          "INVALID_SESSION_TIMEOUT",
          `Invalid session timeout: ${options.timeout} (from 0 to max_session_timeout, ${MAX_TIMEOUT_S})`,
          400,
        );
      const k = key(user, id);
      let session = held.get(k);
      if (!session) {
        if (options.check) return refuse(372, "SESSION_NOT_FOUND", `Session ${id} not found`, 404);
        if (count(user) >= MAX_PER_USER)
          return refuse(
            700,
            "USER_SESSION_LIMIT_EXCEEDED",
            `User ${user} has ${MAX_PER_USER} HTTP sessions open, the embedded server's limit; let some time out or reuse a session_id`,
            429,
          );
        const connection = engine.connect();
        try {
          await options.onOpen(connection);
        } catch (err) {
          connection.close();
          throw err;
        }
        session = { connection, busy: false, timeoutMs: timeout * 1000 };
        held.set(k, session);
      }
      if (session.busy)
        return refuse(373, "SESSION_IS_LOCKED", `Session ${id} is locked by a concurrent client`, 423);
      session.busy = true;
      clearTimeout(session.timer);
      session.timeoutMs = timeout * 1000;
      const s = session;
      const c = s.connection.session;
      const restore: string[] = [];
      try {
        if (options.settings.length) {
          const names = options.settings.map(quote).join(", ");
          const rows = (
            await c.queryAsync(`SELECT name, value FROM system.settings WHERE name IN (${names})`, {
              format: "JSONEachRow",
            })
          )
            .text()
            .split("\n")
            .filter(Boolean)
            .map((line) => JSON.parse(line) as { name: string; value: string });
          if (rows.length) restore.push(`SET ${rows.map((r) => `${r.name} = ${quote(r.value)}`).join(", ")}`);
        }
        if (options.database) {
          const db = (await c.queryAsync("SELECT currentDatabase()", { format: "TSVRaw" })).text().trim();
          restore.push(`USE ${quoteIdentifier(db)}`);
        }
      } catch (err) {
        s.busy = false;
        throw err;
      }
      let released = false;
      return {
        lease: {
          connection: s.connection,
          async release() {
            if (released) return;
            released = true;
            try {
              for (const statement of restore) await c.queryAsync(statement);
            } catch {
              // A session whose settings cannot be put back is not handed out again.
              close(k);
              return;
            }
            s.busy = false;
            if (held.get(k) === s) s.timer = setTimeout(() => close(k), s.timeoutMs);
          },
        },
      };
    },

    closeAll() {
      for (const k of [...held.keys()]) close(k);
    },
  };
}
