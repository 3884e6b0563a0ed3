// adpipe's Grafana dashboard (docs/operations.md#grafana), built here and written to
// compose/grafana/dashboards/adpipe.json by `bun run grafana:dashboard` (a test checks the file is
// current). Every query reads metrics the services export (checked against their real /metrics by
// e2e/metrics.e2e.test.ts) through the Prometheus data source compose provisions.

/** The data source compose/grafana/provisioning/datasources/prometheus.yml declares. */
export const DATASOURCE = { type: "prometheus", uid: "adpipe-prometheus" } as const;

interface Query {
  expr: string;
  legend: string;
}

interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  queries: Query[];
  /** timeseries by default; stat / table for figures read at a glance. */
  type?: "timeseries" | "stat" | "table";
  /** Half width (12 of 24 columns) by default. */
  width?: 6 | 8 | 12 | 24;
}

const q = (expr: string, legend: string): Query => ({ expr, legend });
const p95 = (metric: string, by = "table") =>
  `histogram_quantile(0.95, sum by (${by}, le) (rate(${metric}_bucket[$__rate_interval])))`;

/** Rows of panels, top to bottom: what an on-call engineer looks at first comes first. */
export const ROWS: { title: string; panels: PanelSpec[] }[] = [
  {
    title: "Now",
    panels: [
      {
        title: "Alerts firing",
        description:
          "adpipe's Prometheus alerts (compose/prometheus/adpipe-rules.yml) firing now; docs/operations.md#alerts says what each means",
        unit: "none",
        type: "table",
        width: 12,
        queries: [q('ALERTS{alertstate="firing", alertname=~"Adpipe.*"}', "{{alertname}} {{table}}")],
      },
      {
        title: "Services up",
        description: "1 when Prometheus scrapes the service's /metrics",
        unit: "none",
        type: "stat",
        width: 6,
        queries: [q('up{job=~"adpipe-.*"}', "{{job}} {{instance}}")],
      },
      {
        title: "Paused tables (seconds paused)",
        description:
          "Tables an operator holds (extractor POST /pause) and for how long; empty while every table flows",
        unit: "s",
        type: "stat",
        width: 6,
        queries: [
          q(
            "time() - max by (table) (adpipe_extractor_paused_since_timestamp_seconds > 0)",
            "{{table}} paused since",
          ),
        ],
      },
    ],
  },
  {
    title: "Freshness and lag",
    panels: [
      {
        title: "Freshness: commit → ClickHouse (p95)",
        description:
          "From a change's commit in PostgreSQL (Adpipe-Committed-By) to its rows visible in ClickHouse, per table",
        unit: "s",
        queries: [q(p95("adpipe_loader_freshness_seconds"), "{{table}}")],
      },
      {
        title: "Freshness: commit → reports (p95)",
        description: "From a change's commit to the rebuild that put it in the KPI reports, per table",
        unit: "s",
        queries: [q(p95("adpipe_reporter_freshness_seconds"), "{{table}}")],
      },
      {
        title: "Extractor lag (age of each watermark)",
        description:
          "The extractor advances every table's watermark about once a second; a growing line is a stalled table (a paused one stands still on purpose)",
        unit: "s",
        queries: [
          q("time() - max by (table) (adpipe_extractor_last_advance_timestamp_seconds)", "{{table}}"),
        ],
      },
      {
        title: "Open transaction holding every window",
        description:
          "Age of the oldest open transaction holding the extractor back (0 when none); GET /watermarks names it",
        unit: "s",
        queries: [q("max(adpipe_extractor_blocked_seconds)", "blocked")],
      },
      {
        title: "Loader: publication → insert (p95)",
        description: "From a batch's publication on JetStream to its acknowledged insert",
        unit: "s",
        queries: [q(p95("adpipe_loader_lag_seconds"), "{{table}}")],
      },
      {
        title: "Reports behind",
        description:
          "Age of the oldest batch in ClickHouse no rebuild reported yet, and loaded events waiting for the reporter",
        unit: "s",
        queries: [
          q("max by (table) (adpipe_reporter_unreported_seconds)", "{{table}} unreported"),
          q("sum(adpipe_reporter_events_pending)", "events pending"),
        ],
      },
    ],
  },
  {
    title: "Throughput",
    panels: [
      {
        title: "Rows extracted / s",
        description: "Rows the extractor published to JetStream",
        unit: "rowsps",
        queries: [q("sum by (table) (rate(adpipe_extractor_rows_total[$__rate_interval]))", "{{table}}")],
      },
      {
        title: "Rows loaded / s",
        description: "Rows the loaders inserted into ClickHouse",
        unit: "rowsps",
        queries: [q("sum by (table) (rate(adpipe_loader_rows_total[$__rate_interval]))", "{{table}}")],
      },
      {
        title: "Batches waiting for a loader",
        description: "Deltas in each table's durable consumer not yet delivered or not yet acknowledged",
        unit: "none",
        queries: [q("max by (table) (adpipe_loader_consumer_pending)", "{{table}}")],
      },
      {
        title: "Report rebuilds (p95 duration)",
        description: "How long a rebuild takes, incremental and full",
        unit: "s",
        queries: [q(p95("adpipe_reporter_rebuild_duration_seconds", "kind"), "{{kind}}")],
      },
    ],
  },
  {
    title: "Verification, errors, dead letters",
    panels: [
      {
        title: "Verification: drift found (1 h)",
        description: "Rows (or report keys) the verifier found different from PostgreSQL and repaired",
        unit: "none",
        queries: [q("sum by (table) (increase(adpipe_verify_drift_rows_total[1h]))", "{{table}}")],
      },
      {
        title: "Verification: since the last exact run",
        description:
          "Seconds since a verification found everything equal, and since the last run of any outcome",
        unit: "s",
        queries: [
          q("time() - max(adpipe_verify_exact_timestamp_seconds)", "since exact"),
          q("time() - max(adpipe_verify_last_run_timestamp_seconds)", "since the last run"),
        ],
      },
      {
        title: "Dead letters waiting",
        description:
          "Messages in the dead-letter stream per table and by the service that set them aside (loader GET /dead-letters)",
        unit: "none",
        queries: [q("sum by (table, by) (adpipe_dead_letters)", "{{table}} ({{by}})")],
      },
      {
        title: "Errors / s",
        description: "Loader insert errors by kind, failed extraction cycles",
        unit: "none",
        queries: [
          q(
            "sum by (table, kind) (rate(adpipe_loader_errors_total[$__rate_interval]))",
            "loader {{table}} {{kind}}",
          ),
          q("sum by (table) (rate(adpipe_extractor_errors_total[$__rate_interval]))", "extractor {{table}}"),
        ],
      },
      {
        title: "Schema changes",
        description:
          "Columns the loader added or widened to follow PostgreSQL (per hour), and tables stopped on a type change ClickHouse cannot take (1 while stopped; docs/schema-changes.md)",
        unit: "none",
        queries: [
          q(
            "sum by (table, change) (increase(adpipe_loader_schema_changes_total[1h]))",
            "{{table}} {{change}}",
          ),
          q("max by (table) (adpipe_loader_schema_blocked)", "{{table}} stopped"),
        ],
      },
      {
        title: "NATS connection and stalled consumers",
        description:
          "1 = connected to NATS, per service; a stalled consumer shows 1 while its watchdog recreates its pull",
        unit: "none",
        queries: [
          q("min by (job) (adpipe_nats_connected)", "{{job}} connected"),
          q("max by (consumer) (adpipe_consumer_stalled)", "{{consumer}} stalled"),
        ],
      },
      {
        title: "Memory per service",
        description: "Resident memory of each process",
        unit: "bytes",
        queries: [q("max by (job, instance) (adpipe_process_resident_memory_bytes)", "{{job}} {{instance}}")],
      },
    ],
  },
];

/** Grafana's dashboard JSON model (schemaVersion 39, Grafana 10 and 11). */
export function buildDashboard() {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    panels.push({
      id: id++,
      type: "row",
      title: row.title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
    });
    y += 1;
    let x = 0;
    for (const spec of row.panels) {
      const w = spec.width ?? 12;
      if (x + w > 24) {
        x = 0;
        y += 8;
      }
      panels.push({
        id: id++,
        type: spec.type ?? "timeseries",
        title: spec.title,
        description: spec.description,
        datasource: DATASOURCE,
        gridPos: { h: 8, w, x, y },
        fieldConfig: { defaults: { unit: spec.unit }, overrides: [] },
        options: spec.type === "table" ? { showHeader: true } : {},
        targets: spec.queries.map((query, i) => ({
          refId: String.fromCharCode(65 + i),
          datasource: DATASOURCE,
          expr: query.expr,
          legendFormat: query.legend,
          ...(spec.type === "table" ? { format: "table", instant: true } : {}),
        })),
      });
      x += w;
    }
    y += 8;
  }
  return {
    uid: "adpipe",
    title: "adpipe",
    description:
      "adpipe's pipeline: freshness, lag, throughput, verification, dead letters, per service (docs/operations.md#grafana)",
    tags: ["adpipe"],
    timezone: "utc",
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: "10s",
    time: { from: "now-1h", to: "now" },
    templating: { list: [] },
    annotations: { list: [] },
    panels,
  };
}

/** The file compose provisions. */
export const renderDashboard = () => `${JSON.stringify(buildDashboard(), null, 2)}\n`;

/** Every PromQL query of the dashboard. */
export const dashboardQueries = () =>
  ROWS.flatMap((r) => r.panels.flatMap((p) => p.queries.map((x) => x.expr)));
