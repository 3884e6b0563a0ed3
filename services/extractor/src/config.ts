import { bool, milliseconds, parseConfig, settings } from "@adpipe/shared/config";
import { z } from "zod";

const positiveInt = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const extractorSettings = {
  DATABASE_URL: settings.DATABASE_URL,
  NATS_URL: settings.NATS_URL,
  NATS_STREAM_REPLICAS: settings.NATS_STREAM_REPLICAS,
  NATS_PROVISION: settings.NATS_PROVISION,
  NATS_USER: settings.NATS_USER,
  NATS_PASSWORD: settings.NATS_PASSWORD,
  ADPIPE_NAMESPACE: settings.ADPIPE_NAMESPACE,
  PORT: settings.PORT.default(3002),
  HOST: settings.HOST,
  ADPIPE_ALLOWED_HOSTS: settings.ADPIPE_ALLOWED_HOSTS,
  ADPIPE_API_TOKEN: settings.ADPIPE_API_TOKEN,
  ADPIPE_READ_TOKEN: settings.ADPIPE_READ_TOKEN,
  LOG_LEVEL: settings.LOG_LEVEL,
  /** Apply the PostgreSQL migrations at start; false where a least-privilege user runs it. */
  DATABASE_MIGRATE: bool.default(true),
  /** Pause between scheduled cycles; failures back off from here up to EXTRACT_MAX_BACKOFF_MS. */
  EXTRACT_INTERVAL_MS: positiveInt(10, 3_600_000).default(1000),
  EXTRACT_MAX_BACKOFF_MS: positiveInt(100, 3_600_000).default(30_000),
  /** Wake up when PostgreSQL commits a change (LISTEN adpipe_changes, migration 0007); the interval stays the fallback. */
  EXTRACT_LISTEN: bool.default(true),
  /** Body size cap; 0 means "the server's max_payload minus room for headers". */
  EXTRACT_MAX_BATCH_BYTES: positiveInt(0, 64 * 1024 * 1024).default(0),
  EXTRACT_MAX_BATCH_ROWS: positiveInt(1, 10_000_000).default(100_000),
  /** Publishes awaiting their JetStream ack at once (memory is about this many bodies). */
  EXTRACT_MAX_IN_FLIGHT: positiveInt(1, 1024).default(16),
  /** Sessions that read one large window (the initial snapshot, a resync) at once, each a range of the table's blocks, all in one exported snapshot; 1: one session. */
  EXTRACT_SNAPSHOT_WORKERS: positiveInt(1, 16).default(1),
  /** A window the planner estimates at this many rows or more is read by EXTRACT_SNAPSHOT_WORKERS sessions. */
  EXTRACT_SNAPSHOT_MIN_ROWS: positiveInt(1, 1_000_000_000).default(200_000),
  /**
   * A batch JetStream has not acknowledged is sent again (same message id, every 2 s at most) for
   * this long, which covers a stream leader's election; then the cycle fails (and is retried).
   */
  EXTRACT_PUBLISH_TIMEOUT_MS: positiveInt(100, 600_000).default(20_000),
  /** An open transaction older than this that holds every window back is named (/watermarks, /ready, metric). */
  // 30 s: a bulk load (bun start's first batch takes about 10 s) is not a problem to report.
  EXTRACT_BLOCKER_AFTER_MS: positiveInt(0, 3_600_000).default(30_000),
  /** The verifier's read-only view of ClickHouse; unset: verification is off (docs/verifier.md). */
  CLICKHOUSE_URL: settings.CLICKHOUSE_URL.unwrap().optional(),
  CLICKHOUSE_USER: settings.CLICKHOUSE_USER,
  CLICKHOUSE_PASSWORD: settings.CLICKHOUSE_PASSWORD,
  CLICKHOUSE_DATABASE: settings.CLICKHOUSE_DATABASE,
  /** Pause between scheduled verifications; 0: only on demand (POST /verify, <ns>.verify.run). */
  VERIFY_INTERVAL_MS: milliseconds(0, 86_400_000, 300_000),
  /** Ids per compared range: each range is one indexed read on each side, one at a time. */
  VERIFY_CHUNK_IDS: positiveInt(64, 10_000_000).default(100_000),
  /**
   * Ranges compared at once: the bound on the verifier's PostgreSQL load (that many range reads
   * at a time, each also read in ClickHouse at the same time).
   */
  VERIFY_CONCURRENCY: positiveInt(1, 16).default(2),
  /** Ranges this wide or narrower are compared id by id instead of halved again. */
  VERIFY_LEAF_IDS: positiveInt(1, 1_000_000).default(16_384),
  /** Wait before differing ids are read again to confirm them (lets in-flight changes land). */
  VERIFY_SETTLE_MS: milliseconds(0, 600_000, 3000),
  /**
   * Every how many scheduled verifications one is a full pass; the others compare only the ids
   * changed since the table's last verified run (1: every scheduled run is full).
   */
  VERIFY_FULL_EVERY: positiveInt(1, 10_000).default(12),
} as const;

export type ExtractorConfig = ReturnType<typeof loadConfig>;

export const loadConfig = (env: Record<string, string | undefined> = process.env) =>
  parseConfig(extractorSettings, env);
