import type { Pool } from "@adpipe/shared/pg";

/** The open transaction that holds every table's window back, as `/watermarks` shows it. */
export interface Blocker {
  pid: number;
  /** Its top-level transaction id; every window ends below it until it finishes. */
  xid: string;
  /** Seconds since its transaction started. */
  age_seconds: number;
  state: string | null;
  user: string | null;
  application: string | null;
  /** The first 200 characters of its current (or last) statement. */
  query: string | null;
  xact_start: string;
}

/**
 * The oldest transaction of this database that has written (holds an xid) and has been open
 * longer than `minAgeMs`. A window ends at the oldest running xid of the database (see
 * window-end.ts), so while it is open no table's watermark passes it: rows committed by other
 * transactions since then wait. Seeing other roles' sessions needs `pg_read_all_stats` (or a
 * superuser); without it a foreign blocker is not named, though it still blocks.
 */
const BLOCKER_SQL = `
SELECT a.pid, a.backend_xid::text AS xid,
       round(extract(epoch FROM clock_timestamp() - a.xact_start)::numeric, 1)::float8 AS age_seconds,
       a.state, a.usename::text AS "user", a.application_name AS application,
       left(a.query, 200) AS query, a.xact_start
FROM pg_stat_activity a
WHERE a.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND a.backend_xid IS NOT NULL
  AND a.pid <> pg_backend_pid()
  AND a.xact_start < clock_timestamp() - make_interval(secs => $1::float8 / 1000)
ORDER BY age(a.backend_xid) DESC
LIMIT 1`;

export async function findBlocker(pool: Pool, minAgeMs: number): Promise<Blocker | null> {
  const { rows } = await pool.query<Omit<Blocker, "xact_start"> & { xact_start: Date }>(BLOCKER_SQL, [
    minAgeMs,
  ]);
  const row = rows[0];
  if (!row) return null;
  return {
    ...row,
    pid: Number(row.pid),
    age_seconds: Number(row.age_seconds),
    xact_start: row.xact_start.toISOString(),
  };
}

/** One line for `/ready` and logs. */
export const describeBlocker = (b: Blocker) =>
  `windows held back ${b.age_seconds} s by open transaction xid ${b.xid} (pid ${b.pid}, user ${b.user ?? "?"}, ${b.state ?? "?"}): ${b.query ?? ""}`;
