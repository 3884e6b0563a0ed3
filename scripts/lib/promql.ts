// Which metrics a PromQL query reads, and which a service's /metrics page exports: the dashboard
// and the alert rules may only read what the services really export (e2e/metrics.e2e.test.ts).

/** Series Prometheus makes itself rather than scraping them. */
export const PROMETHEUS_SERIES = ["up", "ALERTS"] as const;

/** The metric names a query reads: adpipe's (adpipe_*) and Prometheus's own. */
export function queriedMetrics(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/\b(adpipe_[A-Za-z0-9_]+)\b/g)) names.add(m[1] as string);
  for (const own of PROMETHEUS_SERIES)
    if (new RegExp(`(^|[^A-Za-z0-9_])${own}\\s*[{(]`).test(expr)) names.add(own);
  return [...names];
}

/**
 * Every series name a Prometheus text page declares (`# TYPE` lines, so also metrics without a
 * sample yet), with a histogram's `_bucket`, `_sum` and `_count` and a summary's `_sum`, `_count`.
 */
export function exportedMetrics(page: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of page.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name as string);
    if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(`${name}${s}`);
    if (type === "summary") for (const s of ["_sum", "_count"]) names.add(`${name}${s}`);
  }
  return names;
}
