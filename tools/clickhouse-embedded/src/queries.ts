import type { Connection } from "./engine.ts";
import { type Exception, exception } from "./exception.ts";

/**
 * The client's `query_id` for the queries running now. chDB gives every query an id of its own
 * (clickhouse-local takes none from outside), so each query this server runs ends with a comment
 * naming a token of its own, by which its engine id is found in `system.processes`; `KILL QUERY
 * WHERE query_id = '<client id>'` is carried out on that id. `system.processes` itself still shows
 * the engine's ids.
 */
interface Running {
  user: string;
  token: string;
  cancelStream?: () => void;
  finished: Promise<void>;
}

const KILL_BY_ID =
  /^\s*KILL\s+QUERY\s+WHERE\s+query_id\s*=\s*'((?:[^'\\]|\\.)*)'\s*(SYNC|ASYNC|TEST)?\s*(FORMAT\s+[A-Za-z0-9_]+)?\s*;?\s*$/i;
const KILL_SYNC = /^(\s*KILL\s+QUERY\b[\s\S]*)\bSYNC(\s*(?:FORMAT\s+[A-Za-z0-9_]+)?\s*;?\s*)$/i;

const unquote = (s: string) => s.replace(/\\(.)/g, "$1");
const quote = (value: string) => `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

/** How long a `KILL QUERY ... SYNC` waits for the query to end, as a server's does by default. */
const SYNC_WAIT_MS = 30_000;

export function runningQueries(version: string) {
  const running = new Map<string, Running>();

  return {
    /**
     * Registers a query under the client's id: the comment its SQL ends with, and `done` to call
     * when it is over; or QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING, as on a server.
     */
    start(
      queryId: string,
      user: string,
    ):
      | { marker: string; token: string; onStream: (cancel: () => void) => void; done: () => void }
      | { refused: Exception } {
      if (running.has(queryId))
        return {
          refused: {
            ...exception(
              216,
              "QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING",
              `Query with id = ${queryId} is already running`,
              version,
            ),
            status: 400,
          },
        };
      let end = () => {};
      const entry: Running = { user, token: crypto.randomUUID(), finished: new Promise((r) => (end = r)) };
      running.set(queryId, entry);
      return {
        // After a newline: a query ending in a `--` comment stays one.
        marker: `\n/* adpipe query ${entry.token} */`,
        token: entry.token,
        onStream: (cancel) => {
          entry.cancelStream = cancel;
        },
        done: () => {
          if (running.get(queryId) === entry) running.delete(queryId);
          end();
        },
      };
    },

    /**
     * Runs a KILL QUERY statement: by a client's id, on the engine's id of that query (and its
     * stream is stopped); any KILL with SYNC as ASYNC and a wait here (chDB's SYNC never returns).
     * Undefined for any other statement.
     */
    async kill(sql: string, connection: Connection, format: string): Promise<Uint8Array | undefined> {
      const byId = KILL_BY_ID.exec(sql);
      if (byId) {
        const id = unquote(byId[1] ?? "");
        const mode = (byId[2] ?? "ASYNC").toUpperCase();
        const entry = running.get(id);
        if (entry) {
          const lookup = `SELECT query_id FROM system.processes WHERE endsWith(query, concat('/* adpipe query ', ${quote(entry.token)}, ' */'))`;
          const ids = (await connection.session.queryAsync(lookup, { format: "TSVRaw" }))
            .text()
            .split("\n")
            .filter(Boolean);
          const test = mode === "TEST";
          const kill = `KILL QUERY WHERE query_id IN (${[id, ...ids].map(quote).join(", ")}) ${test ? "TEST" : "ASYNC"} ${byId[3] ?? ""}`;
          const result = (await connection.session.queryAsync(kill, { format })).bytes();
          if (!test) entry.cancelStream?.();
          if (mode === "SYNC")
            await Promise.race([entry.finished, new Promise((r) => setTimeout(r, SYNC_WAIT_MS))]);
          return result;
        }
      }
      const sync = KILL_SYNC.exec(sql);
      if (sync) return (await connection.session.queryAsync(`${sync[1]}ASYNC${sync[2]}`, { format })).bytes();
      return undefined;
    },
  };
}
