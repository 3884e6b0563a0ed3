// The Prometheus alert rules adpipe ships (docs/operations.md#alerts), rendered from thresholds
// that are settings: compose/prometheus/adpipe-rules.yml is this with the defaults, and
// `bun run alerts:rules > file` renders them with an operator's values from the environment.
// Every rule reads only metrics the services export (checked against their real /metrics by
// e2e/metrics.e2e.test.ts) and `up` of the scrape jobs named adpipe-<service>.
import { parseConfig } from "@adpipe/shared/config";
import { z } from "zod";

const seconds = (fallback: number) =>
  z.coerce.number({ message: "expected seconds" }).positive().default(fallback);
const duration = (fallback: string) =>
  z
    .string()
    .regex(/^(0|(\d+(ms|s|m|h|d))+)$/, "expected a Prometheus duration such as 30s, 5m, 1h")
    .default(fallback);

/** Each alert's threshold and how long it must hold (`for`), with the environment variable to change it. */
export const thresholdSettings = {
  /** A table's watermark has not advanced for this long (the extractor advances it every cycle, ~1 s). */
  ADPIPE_ALERT_STALLED_SECONDS: seconds(60),
  ADPIPE_ALERT_STALLED_FOR: duration("1m"),
  /** How far back the stall rule looks for the last advance: it stays firing this long while the extractor is down. */
  ADPIPE_ALERT_LOOKBACK: duration("6h"),
  /** p95 of commit → ClickHouse (loader) or commit → reports (reporter) over 5 minutes above this. */
  ADPIPE_ALERT_FRESHNESS_SECONDS: seconds(30),
  ADPIPE_ALERT_FRESHNESS_FOR: duration("5m"),
  /** The oldest loaded batch no rebuild reported is older than this. */
  ADPIPE_ALERT_REPORTS_BEHIND_SECONDS: seconds(60),
  ADPIPE_ALERT_REPORTS_BEHIND_FOR: duration("2m"),
  /** The verifier found drift within this window. */
  ADPIPE_ALERT_VERIFY_DRIFT_WINDOW: duration("1h"),
  /** No verification finished for this many times VERIFY_INTERVAL_MS (plus a minute). */
  ADPIPE_ALERT_VERIFY_LATE_FACTOR: z.coerce.number().min(1).default(2),
  /** Dead letters waiting for an operator for this long. */
  ADPIPE_ALERT_DEAD_LETTERS_FOR: duration("1m"),
  /** An open transaction has held every window back for this long. */
  ADPIPE_ALERT_OPEN_TRANSACTION_SECONDS: seconds(120),
  ADPIPE_ALERT_NATS_DISCONNECTED_FOR: duration("30s"),
  /** Loader errors in every 5-minute window for this long. */
  ADPIPE_ALERT_LOADER_ERRORS_FOR: duration("5m"),
  ADPIPE_ALERT_CONSUMER_STALLED_FOR: duration("1m"),
  /** No reporter (or more than one) holding the lease for this long. */
  ADPIPE_ALERT_REPORTER_ACTIVE_FOR: duration("30s"),
  ADPIPE_ALERT_SERVICE_DOWN_FOR: duration("1m"),
  /** A table paused for longer than this: a reminder. */
  ADPIPE_ALERT_PAUSED_SECONDS: seconds(3600),
  /** Evaluation interval of the rule group. */
  ADPIPE_ALERT_EVALUATION_INTERVAL: duration("15s"),
} as const;

export type Thresholds = ReturnType<typeof loadThresholds>;
export const loadThresholds = (env: Record<string, string | undefined> = process.env) =>
  parseConfig(thresholdSettings, env);

/** A Prometheus duration ("1m", "90s", "1h30m") in seconds. */
export function durationSeconds(d: string): number {
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 } as const;
  let total = 0;
  for (const [, n, u] of d.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(n) * unit[u as keyof typeof unit];
  return total;
}

/**
 * The longest time from a table's last advance to AdpipeTableStalled firing: the threshold, then
 * the next evaluation makes it pending, and the first evaluation `for` later makes it fire.
 * Scraping adds nothing: a last advance not yet scraped only makes the stored one older. A stopped
 * extractor's last advance is at most one cycle (EXTRACT_INTERVAL_MS, 1 s) before it stopped.
 */
export function stallDelaySeconds(t: Thresholds): number {
  return (
    t.ADPIPE_ALERT_STALLED_SECONDS +
    durationSeconds(t.ADPIPE_ALERT_STALLED_FOR) +
    2 * durationSeconds(t.ADPIPE_ALERT_EVALUATION_INTERVAL)
  );
}

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: "page" | "warning" | "info" };
  annotations: { summary: string; description: string; runbook: string };
}

const runbook = (alert: string) => `docs/operations.md#${alert.toLowerCase()}`;

/** The rules, in the order docs/operations.md lists them. */
export function alertRules(t: Thresholds): Rule[] {
  const rule = (
    alert: string,
    severity: Rule["labels"]["severity"],
    expr: string,
    forDuration: string,
    summary: string,
    description: string,
  ): Rule => ({
    alert,
    expr,
    for: forDuration,
    labels: { severity },
    annotations: { summary, description, runbook: runbook(alert) },
  });
  const lookback = t.ADPIPE_ALERT_LOOKBACK;
  const p95 = (metric: string, stage: string) =>
    `label_replace(histogram_quantile(0.95, sum by (job, table, le) (rate(${metric}_bucket[5m]))), "stage", "${stage}", "", "") > ${t.ADPIPE_ALERT_FRESHNESS_SECONDS}`;
  return [
    rule(
      "AdpipeTableStalled",
      "page",
      // max_over_time keeps the last advance while the extractor is down (its series go stale);
      // a paused table stands still on purpose.
      `(time() - max by (job, table) (max_over_time(adpipe_extractor_last_advance_timestamp_seconds[${lookback}]))) > ${t.ADPIPE_ALERT_STALLED_SECONDS} unless on (job, table) (max by (job, table) (last_over_time(adpipe_extractor_paused_since_timestamp_seconds[${lookback}])) > 0)`,
      t.ADPIPE_ALERT_STALLED_FOR,
      "adpipe: {{ $labels.table }} is not extracted: its watermark has not advanced for {{ $value | humanizeDuration }}",
      "The extractor advances every table's watermark about once a second, also when nothing changed. Check the extractor is running and /ready (PostgreSQL, NATS), and its log for failed cycles.",
    ),
    rule(
      "AdpipeFreshnessHigh",
      "warning",
      `${p95("adpipe_loader_freshness_seconds", "clickhouse")} or ${p95("adpipe_reporter_freshness_seconds", "reports")}`,
      t.ADPIPE_ALERT_FRESHNESS_FOR,
      "adpipe: {{ $labels.table }} takes {{ $value | humanizeDuration }} (p95) from commit to {{ $labels.stage }}",
      `95 % of changes reached ${"{{ $labels.stage }}"} later than ${t.ADPIPE_ALERT_FRESHNESS_SECONDS} s after their commit over the last 5 minutes. Look at the loader's pending batches and insert durations, and the reporter's rebuild durations.`,
    ),
    rule(
      "AdpipeReportsBehind",
      "warning",
      `max by (job, table) (adpipe_reporter_unreported_seconds) > ${t.ADPIPE_ALERT_REPORTS_BEHIND_SECONDS}`,
      t.ADPIPE_ALERT_REPORTS_BEHIND_FOR,
      "adpipe: the reports miss {{ $labels.table }} rows loaded {{ $value | humanizeDuration }} ago",
      "Batches are in ClickHouse (loaded_batches) but no rebuild reported them. Check the reporter's /reports/status (last_error, heals) and /ready.",
    ),
    rule(
      "AdpipeVerificationDrift",
      "warning",
      `sum by (job, table) (increase(adpipe_verify_drift_rows_total[${t.ADPIPE_ALERT_VERIFY_DRIFT_WINDOW}])) > 0`,
      "0s",
      "adpipe: the verifier found {{ $value }} {{ $labels.table }} rows different from PostgreSQL",
      `Within ${t.ADPIPE_ALERT_VERIFY_DRIFT_WINDOW}. The verifier repairs what it finds, but drift means something upstream lost or changed rows: see the extractor's GET /verify (sampleIds) and its log.`,
    ),
    rule(
      "AdpipeVerificationNotRun",
      "warning",
      `(time() - adpipe_verify_last_run_timestamp_seconds) > (${t.ADPIPE_ALERT_VERIFY_LATE_FACTOR} * adpipe_verify_interval_seconds + 60) and adpipe_verify_interval_seconds > 0`,
      "0s",
      "adpipe: no verification finished for {{ $value | humanizeDuration }}",
      `More than ${t.ADPIPE_ALERT_VERIFY_LATE_FACTOR} times VERIFY_INTERVAL_MS. Check the extractor's GET /verify (phase, last run) and its log.`,
    ),
    rule(
      "AdpipeDeadLetters",
      "warning",
      "sum by (job, table, by) (adpipe_dead_letters) > 0",
      t.ADPIPE_ALERT_DEAD_LETTERS_FOR,
      "adpipe: {{ $value }} dead letters of {{ $labels.table }} (set aside by the {{ $labels.by }}) wait for an operator",
      "See the loader's GET /dead-letters (the error of each), fix the cause, then replay them (POST /dead-letters/:id/replay).",
    ),
    rule(
      "AdpipeOpenTransaction",
      "warning",
      `max by (job) (adpipe_extractor_blocked_seconds) > ${t.ADPIPE_ALERT_OPEN_TRANSACTION_SECONDS}`,
      "0s",
      "adpipe: an open transaction has held every table's window for {{ $value | humanizeDuration }}",
      "Nothing committed after it reaches ClickHouse until it ends. The extractor's GET /watermarks names it (blocked_by: pid, user, query); end it or let it finish.",
    ),
    rule(
      "AdpipeNatsDisconnected",
      "page",
      "min by (job, instance) (adpipe_nats_connected) == 0",
      t.ADPIPE_ALERT_NATS_DISCONNECTED_FOR,
      "adpipe: {{ $labels.job }} ({{ $labels.instance }}) has no connection to NATS",
      "The client reconnects on its own to any server of NATS_URL. Check the NATS servers (/healthz) and the network between them and the service.",
    ),
    rule(
      "AdpipeLoaderErrors",
      "warning",
      "sum by (job, table, kind) (increase(adpipe_loader_errors_total[5m])) > 0",
      t.ADPIPE_ALERT_LOADER_ERRORS_FOR,
      "adpipe: the loader keeps failing on {{ $labels.table }} ({{ $labels.kind }}: {{ $value }} in 5 min)",
      "transient: ClickHouse unreachable or overloaded; rejected: ClickHouse refuses a batch (it goes to the dead letters after LOADER_MAX_ATTEMPTS); invalid: a delta breaking the contract; announce: loaded events cannot be published. See the loader's /status and log.",
    ),
    rule(
      "AdpipeConsumerStalled",
      "warning",
      "max by (job, consumer) (adpipe_consumer_stalled) == 1",
      t.ADPIPE_ALERT_CONSUMER_STALLED_FOR,
      "adpipe: the durable consumer {{ $labels.consumer }} receives nothing while messages wait for it",
      "The watchdog keeps recreating its pull (adpipe_consumer_stall_recoveries_total). See the service's /ready and log, and the consumer's state (nats consumer info).",
    ),
    rule(
      "AdpipeSchemaBlocked",
      "page",
      "max by (job, table) (adpipe_loader_schema_blocked) == 1",
      "0s",
      "adpipe: {{ $labels.table }} stopped loading on a PostgreSQL type change ClickHouse cannot take",
      "Its batches wait in JetStream, in order; every other table flows. The loader's /status (schema_blocked) and log name the column, both types and the ALTER that lets it load; once run, the table loads by itself within seconds.",
    ),
    rule(
      "AdpipeReporterNotActive",
      "page",
      // Reporters that answer /metrics, and how many of them hold the lease: one, always.
      "sum(adpipe_reporter_active) != 1",
      t.ADPIPE_ALERT_REPORTER_ACTIVE_FOR,
      "adpipe: {{ $value }} reporters are active (one should be)",
      "0: no reporter holds the lease (each standby takes it within REPORTER_LEASE_TTL_MS of the active one's end; see their /reports/status lease field and logs) and the reports stand still. More than 1: two reporters believe they are active; check their REPORTER_INSTANCE_ID and clocks (docs/reporter-standby.md).",
    ),
    rule(
      "AdpipeServiceDown",
      "page",
      'up{job=~"adpipe-.*"} == 0',
      t.ADPIPE_ALERT_SERVICE_DOWN_FOR,
      "adpipe: {{ $labels.job }} ({{ $labels.instance }}) does not answer /metrics",
      "The process is down or unreachable. Its work waits (nothing is lost): deltas in PostgreSQL or JetStream, events in JetStream.",
    ),
    rule(
      "AdpipeTablePausedLong",
      "info",
      `(time() - max by (job, table) (adpipe_extractor_paused_since_timestamp_seconds > 0)) > ${t.ADPIPE_ALERT_PAUSED_SECONDS}`,
      "0s",
      "adpipe: {{ $labels.table }} has been paused for {{ $value | humanizeDuration }}",
      "An operator paused it (POST /pause): it is not extracted until POST /resume. A reminder, in case it was forgotten.",
    ),
  ];
}

/** The rules file Prometheus loads (`rule_files`). */
export function renderRules(t: Thresholds = loadThresholds({})): string {
  const header = [
    "# adpipe's alert rules. Generated by `bun run alerts:rules` (scripts/lib/alert-rules.ts) from",
    "# the thresholds in docs/operations.md#alerts; set ADPIPE_ALERT_* and run it again to change them.",
    "# Tested offline by adpipe-rules.test.yml (`promtool test rules`) and against a running pipeline",
    "# by e2e/alerts.e2e.test.ts. Scrape jobs must be named adpipe-<service> (AdpipeServiceDown).",
  ].join("\n");
  const body = Bun.YAML.stringify(
    { groups: [{ name: "adpipe", interval: t.ADPIPE_ALERT_EVALUATION_INTERVAL, rules: alertRules(t) }] },
    null,
    2,
  );
  return `${header}\n${body}${body.endsWith("\n") ? "" : "\n"}`;
}
