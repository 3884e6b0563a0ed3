import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Exception, exception } from "./exception.ts";

/**
 * `system.query_log` of the queries this server ran. clickhouse-local keeps no query log (chDB
 * has no `system.*_log` table), so the server records each query itself, in memory: a
 * `QueryStart` row when the engine is asked, then `QueryFinish`, `ExceptionBeforeStart` or
 * `ExceptionWhileProcessing`. Only what the server knows is filled in; every other column a server
 * has is absent (a query naming one fails as on a server without it), none is made up.
 *
 * A query naming `system.query_log` reads a snapshot of the log written for it (the table name
 * becomes `file(<snapshot>, JSONEachRow, <structure>)`). The log holds every user's SQL, so only
 * users with every right may read it (a server needs a grant on it too); it is lost on restart.
 */
export const STRUCTURE = [
  "type Enum8('QueryStart' = 1, 'QueryFinish' = 2, 'ExceptionBeforeStart' = 3, 'ExceptionWhileProcessing' = 4)",
  "event_date Date",
  "event_time DateTime",
  "event_time_microseconds DateTime64(6)",
  "query_start_time DateTime",
  "query_start_time_microseconds DateTime64(6)",
  "query_duration_ms UInt64",
  "read_rows UInt64",
  "read_bytes UInt64",
  "written_rows UInt64",
  "written_bytes UInt64",
  "result_rows UInt64",
  "result_bytes UInt64",
  "current_database String",
  "query String",
  "exception_code Int32",
  "exception String",
  "is_initial_query UInt8",
  "user String",
  "query_id String",
  "initial_user String",
  "initial_query_id String",
  "interface UInt8",
  "http_method UInt8",
  "http_user_agent String",
].join(", ");

/** A server's `log_queries_cut_to_length`. */
const CUT_TO_LENGTH = 100_000;
/** Kept: the newest rows up to both bounds. */
const MAX_ROWS = 20_000;
const MAX_BYTES = 32 << 20;

const NAME = /(?<![\w.`"])(?:system|`system`)\s*\.\s*(?:query_log|`query_log`)(?![\w`])/g;

export interface QueryCounters {
  read_rows?: number;
  read_bytes?: number;
  written_rows?: number;
  written_bytes?: number;
  result_rows?: number;
  result_bytes?: number;
}

export interface LoggedQuery {
  /** The engine is being asked: the QueryStart row. */
  started(sql: string): void;
  /** The query is over: QueryFinish with the counters, or the exception it ended with. */
  ended(outcome: { counters?: QueryCounters; failure?: Exception }): void;
}

/** Unix seconds, and with microseconds: read the same whatever the server's time zone. */
const stamp = (ms: number) => ({
  seconds: Math.floor(ms / 1000),
  micros: `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, "0")}000`,
});

export function queryLog(spoolDir: string, version: string) {
  const rows: string[] = [];
  let bytes = 0;
  const push = (row: Record<string, unknown>) => {
    const line = JSON.stringify(row);
    rows.push(line);
    bytes += line.length;
    while (rows.length > MAX_ROWS || bytes > MAX_BYTES) bytes -= rows.shift()?.length ?? 0;
  };

  return {
    /** One request's entry (after authentication: a server logs no query it did not accept). */
    begin(who: {
      queryId: string;
      user: string;
      database: string;
      method: string;
      userAgent: string;
    }): LoggedQuery {
      const start = Date.now();
      let query = "";
      let isStarted = false;
      let isEnded = false;
      const row = (type: string, at: number, extra: Record<string, unknown>) => {
        const t = stamp(at);
        const s = stamp(start);
        push({
          type,
          event_date: Math.floor(t.seconds / 86_400),
          event_time: t.seconds,
          event_time_microseconds: t.micros,
          query_start_time: s.seconds,
          query_start_time_microseconds: s.micros,
          query_duration_ms: type === "QueryStart" ? 0 : at - start,
          current_database: who.database,
          query: query.slice(0, CUT_TO_LENGTH),
          is_initial_query: 1,
          user: who.user,
          query_id: who.queryId,
          initial_user: who.user,
          initial_query_id: who.queryId,
          interface: 2,
          http_method: who.method === "GET" ? 1 : 2,
          http_user_agent: who.userAgent,
          ...extra,
        });
      };
      return {
        started(sql) {
          if (isStarted) return;
          query = sql;
          isStarted = true;
          row("QueryStart", start, {});
        },
        ended({ counters, failure }) {
          if (isEnded) return;
          isEnded = true;
          const now = Date.now();
          if (failure)
            row(isStarted ? "ExceptionWhileProcessing" : "ExceptionBeforeStart", now, {
              ...counters,
              exception_code: failure.code,
              exception: failure.text.trimEnd(),
            });
          else if (isStarted) row("QueryFinish", now, { ...counters });
        },
      };
    },

    mentions: (sql: string) => sql.search(NAME) >= 0,

    /**
     * `sql` reading a snapshot of the log instead of `system.query_log`, and the snapshot's
     * removal (after the answer is read); or the refusal for a user without every right.
     */
    snapshot(sql: string, everyRight: boolean): { sql: string; remove: () => void } | { refused: Exception } {
      if (!everyRight)
        return {
          refused: {
            ...exception(
              497,
              "ACCESS_DENIED",
              "Not enough privileges to read system.query_log: on the embedded server it holds every user's SQL, so only users with every right (GRANT ALL ON *.*) may read it",
              version,
            ),
            status: 403,
          },
        };
      const path = join(spoolDir, `${crypto.randomUUID()}.query_log.jsonl`);
      writeFileSync(path, rows.length ? `${rows.join("\n")}\n` : "", { mode: 0o600 });
      const source = `file('${path}', 'JSONEachRow', '${STRUCTURE.replaceAll("'", "\\'")}')`;
      return { sql: sql.replace(NAME, source), remove: () => rmSync(path, { force: true }) };
    },
  };
}

export type QueryLog = ReturnType<typeof queryLog>;

/** What one request leaves for its query_log rows, written once its answer is over. */
export interface Trace {
  logged?: LoggedQuery;
  /** The answer streams on: its rows are written when the stream ends. */
  handedOff?: boolean;
  response?: Response;
  streamFailure?: Exception;
}

/** What an answer says of its query: the summary's counters, or its exception (code and text). */
export async function outcomeOf(
  response: Response | undefined,
  failure?: Exception,
): Promise<{ counters?: QueryCounters; failure?: Exception }> {
  const summary = response?.headers.get("x-clickhouse-summary");
  const counters = summary
    ? Object.fromEntries(
        Object.entries(JSON.parse(summary) as Record<string, string>).map(([k, v]) => [k, Number(v)]),
      )
    : undefined;
  if (failure) return { counters, failure };
  const code = response?.headers.get("x-clickhouse-exception-code");
  if (!response || !code) return { counters };
  const text = await response.clone().text();
  return { counters, failure: { code: Number(code), text, status: response.status } };
}
