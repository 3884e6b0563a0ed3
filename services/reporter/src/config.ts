import { bool, milliseconds as ms, olapServiceSettings, parseConfig, settings } from "@adpipe/shared/config";
import { DEFAULT_REPORTER_ACK_WAIT_MS } from "@adpipe/shared/nats-provision";
import { z } from "zod";

/** Another service's base URL, for the dashboard's server-side reads (never sent to the browser). */
const serviceUrl = (fallback: string) =>
  z
    .url({ protocol: /^https?$/, message: "expected a URL starting with http:// or https://" })
    .default(fallback);

export const reporterSettings = {
  ...olapServiceSettings,
  PORT: settings.PORT.default(3004),
  /** Loaded events arriving within this long of the first one are rebuilt together. */
  REPORTER_COALESCE_MS: ms(0, 60_000, 50),
  /** Longest pause between retries while ClickHouse fails. */
  REPORTER_MAX_BACKOFF_MS: ms(100, 300_000, 30_000),
  /**
   * Unacknowledged events come back after this long (a reporter that died mid-rebuild). Short on
   * purpose: a live reporter tells JetStream it is still working on the events it holds.
   */
  REPORTER_ACK_WAIT_MS: ms(1000, 3_600_000, DEFAULT_REPORTER_ACK_WAIT_MS),
  /**
   * Deliveries of one loaded event (JetStream's delivery count) before the reporter sets it aside
   * (`<ns>.dlq.reporter.<table>`) and heals the reports with a full rebuild instead: a rebuild
   * that keeps failing must not hold the events behind it forever. With the default backoff, 10
   * deliveries span about a minute of failures.
   */
  REPORTER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(10),
  /** How often the reporter compares loaded with reported batches and rebuilds any gap (heal). */
  REPORTER_HEAL_INTERVAL_MS: ms(200, 3_600_000, 5_000),
  /** More touched (campaign, day) keys than this in one rebuild: rebuild everything instead. */
  REPORTER_MAX_TOUCHED_KEYS: z.coerce.number().int().min(1).max(1_000_000).default(2000),
  /** How often the reporter checks whether the UTC date changed (day-dependent KPIs go stale). */
  REPORTER_DATE_CHECK_MS: ms(1000, 3_600_000, 60_000),
  /**
   * Coordinate with other reporters of the namespace through a lease in NATS KV: one is active,
   * the others are hot standbys that take over when it dies (docs/reporter.md). Off: this process
   * rebuilds without asking (one reporter only, as before the lease existed).
   */
  REPORTER_LEASE: bool.default(true),
  /** An active reporter whose lease was not renewed this long is replaced by a standby. */
  REPORTER_LEASE_TTL_MS: ms(600, 600_000, 3_000),
  /** This reporter's name in the lease; unique per reporter (default: host name and port, or pid). */
  REPORTER_INSTANCE_ID: z.string().trim().min(1).max(200).optional(),
  /** The services the dashboard reads and drives; `bun start` passes their actual URLs. */
  GENERATOR_URL: serviceUrl("http://127.0.0.1:3001"),
  EXTRACTOR_URL: serviceUrl("http://127.0.0.1:3002"),
  LOADER_URL: serviceUrl("http://127.0.0.1:3003"),
  /** How long the dashboard waits for another service before showing it as down. */
  DASHBOARD_UPSTREAM_TIMEOUT_MS: ms(100, 30_000, 1000),
} as const;

export const loadConfig = (env: Record<string, string | undefined> = process.env) =>
  parseConfig(reporterSettings, env);

export type ReporterConfig = ReturnType<typeof loadConfig>;
