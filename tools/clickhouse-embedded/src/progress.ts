import type { Engine } from "./engine.ts";
import type { Summary } from "./response.ts";

/** clickhouse-server's `http_headers_progress_interval_ms` default. */
export const DEFAULT_INTERVAL_MS = 100;
/** Not below this: every look is a query on the engine. */
const MIN_INTERVAL_MS = 10;

export interface ProgressWatch {
  /** What the engine had done at each look that found something new, oldest first. */
  readonly snapshots: Summary[];
  /** Stops looking (waits for a look under way). */
  stop(): Promise<void>;
}

/**
 * `send_progress_in_http_headers=1`: a server sends an `X-ClickHouse-Progress` header every
 * `http_headers_progress_interval_ms` until the body starts. chDB calls no progress callback for
 * a query, but its `system.processes` has the running query's counters: this looks them up every
 * interval by the comment the query's SQL ends with (queries.ts) and keeps each new value, which
 * the response then carries as headers (all of them when the answer waits for the query's end).
 */
export function watchProgress(engine: Engine, token: string, interval: string | undefined): ProgressWatch {
  const every = Math.max(MIN_INTERVAL_MS, Number(interval) || DEFAULT_INTERVAL_MS);
  const snapshots: Summary[] = [];
  const connection = engine.connect();
  const lookup = `SELECT read_rows, read_bytes, written_rows, written_bytes, total_rows_approx, toUInt64(elapsed * 1e9)
    FROM system.processes WHERE endsWith(query, '/* adpipe query ${token.replace(/[^0-9a-f-]/g, "")} */') LIMIT 1`;
  let last = "";
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let looking: Promise<void> = Promise.resolve();
  const look = async () => {
    const row = (await connection.session.queryAsync(lookup, { format: "TSVRaw" })).text().trim();
    if (!row || row === last) return;
    last = row;
    const [readRows, readBytes, writtenRows, writtenBytes, total, elapsed] = row.split("\t").map(Number);
    snapshots.push({
      read_rows: readRows,
      read_bytes: readBytes,
      written_rows: writtenRows,
      written_bytes: writtenBytes,
      total_rows_to_read: total,
      elapsed_ns: elapsed,
    });
  };
  const schedule = () => {
    timer = setTimeout(() => {
      looking = look()
        .catch(() => {})
        .finally(() => {
          if (!stopped) schedule();
        });
    }, every);
  };
  schedule();
  return {
    snapshots,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await looking;
      connection.close();
    },
  };
}
