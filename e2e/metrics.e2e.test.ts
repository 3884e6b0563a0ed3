// Every service's /metrics passes `promtool check metrics` (Debian's `prometheus` package, as
// .ci/run installs it), read from a running pipeline (`bun start`) once rows have moved, so the
// services' own counters and histograms have samples, not only the process metrics.
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
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
  for (const s of SERVICES) {
    const port = env[`${s.name.toUpperCase()}_PORT`];
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain("adpipe_");
    const check = Bun.spawnSync([PROMTOOL, "check", "metrics"], { stdin: Buffer.from(body) });
    // promtool prints its findings (lint warnings too) and exits non-zero on any of them.
    results[s.name] = `exit ${check.exitCode} ${check.stdout.toString()}${check.stderr.toString()}`.trim();
  }
  expect(results).toEqual(Object.fromEntries(SERVICES.map((s) => [s.name, "exit 0"])));

  run.proc.kill("SIGINT");
  expect(await run.exit(30_000)).toBe(0);
}, 180_000);
