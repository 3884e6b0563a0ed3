// Every service's /metrics passes `promtool check metrics` (Debian's `prometheus` package, as
// .ci/run installs it), read from a running pipeline (`bun start`) once rows have moved, so the
// services' own counters and histograms have samples, not only the process metrics. From the same
// pages: every metric the Grafana dashboard and the alert rules query is one a service exports.
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { alertRules, loadThresholds } from "../scripts/lib/alert-rules.ts";
import { dashboardQueries } from "../scripts/lib/grafana-dashboard.ts";
import { exportedMetrics, PROMETHEUS_SERIES, queriedMetrics } from "../scripts/lib/promql.ts";
import { SERVICES } from "../scripts/lib/services.ts";
import {
  type Cleanups,
  runCleanups,
  runStart,
  startEnvOnMachine,
  stopAndRemove,
  waitFor,
} from "./start-process.ts";

const PROMTOOL = "/usr/bin/promtool";
const cleanups: Cleanups = [];

afterAll(async () => {
  await runCleanups(cleanups);
});

test("promtool check metrics is clean on every service's /metrics", async () => {
  // A missing promtool is a failure to fix (`apt-get install prometheus`, as .ci/run does).
  if (!existsSync(PROMTOOL))
    throw new Error(`${PROMTOOL} is missing: install Debian's prometheus (apt-get install -y prometheus)`);
  const { home, env } = await startEnvOnMachine("metrics", cleanups);
  const run = runStart(home, env);
  cleanups.push(() => stopAndRemove(run));
  const reporter = `http://127.0.0.1:${env.REPORTER_PORT}`;
  await waitFor(
    "a campaign KPI (rows went through every service)",
    90_000,
    async () => {
      const rows = (await (await fetch(`${reporter}/kpis/campaigns`)).json()) as { impressions: number }[];
      return rows.some((r) => Number(r.impressions) > 0) ? true : undefined;
    },
    run.output,
  );

  const results: Record<string, string> = {};
  const exported = new Set<string>(PROMETHEUS_SERIES);
  for (const s of SERVICES) {
    const port = env[`${s.name.toUpperCase()}_PORT`];
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain("adpipe_");
    for (const name of exportedMetrics(body)) exported.add(name);
    const check = Bun.spawnSync([PROMTOOL, "check", "metrics"], { stdin: Buffer.from(body) });
    // promtool prints its findings (lint warnings too) and exits non-zero on any of them.
    results[s.name] = `exit ${check.exitCode} ${check.stdout.toString()}${check.stderr.toString()}`.trim();
  }
  expect(results).toEqual(Object.fromEntries(SERVICES.map((s) => [s.name, "exit 0"])));

  // The dashboard's and the rules' queries name only what the services export (a renamed metric
  // would leave a panel empty and an alert silent).
  const queries = [
    ...dashboardQueries().map((expr) => ({ where: "dashboard", expr })),
    ...alertRules(loadThresholds({})).map((r) => ({ where: r.alert, expr: r.expr })),
  ];
  const unknown = queries.flatMap(({ where, expr }) =>
    queriedMetrics(expr)
      .filter((name) => !exported.has(name))
      .map((name) => `${where}: ${name}`),
  );
  expect(unknown).toEqual([]);
  expect(queries.every(({ expr }) => queriedMetrics(expr).length > 0)).toBe(true);

  run.proc.kill("SIGINT");
  expect(await run.exit(30_000)).toBe(0);
}, 180_000);
