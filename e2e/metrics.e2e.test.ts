// Every service's /metrics passes `promtool check metrics` (Debian's `prometheus` package, as
// .ci/run installs it), read from a running pipeline (`bun start`) once rows have moved, so the
// services' own counters and histograms have samples, not only the process metrics.
import { afterAll, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { streams } from "@adpipe/shared/contract";
import { connectNats } from "@adpipe/shared/nats";
import { createTestDatabase, uniqueName } from "@adpipe/shared/testing";
import { SERVICES } from "../scripts/lib/services.ts";
import { processesNaming, runStart, startEnv, waitFor } from "./start-process.ts";

const PROMTOOL = "/usr/bin/promtool";
const natsUrl = process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222";
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

test("promtool check metrics is clean on every service's /metrics", async () => {
  // A missing promtool is a failure to fix (`apt-get install prometheus`, as .ci/run does).
  if (!existsSync(PROMTOOL))
    throw new Error(`${PROMTOOL} is missing: install Debian's prometheus (apt-get install -y prometheus)`);
  const db = await createTestDatabase({ migrate: false });
  cleanups.push(() => db.drop());
  const namespace = uniqueName("metrics");
  cleanups.push(async () => {
    const nc = await connectNats({ url: natsUrl, name: "adpipe-e2e-cleanup" });
    const jsm = await nc.jetstreamManager();
    const s = streams(namespace);
    for (const name of [s.delta, s.dlq, s.events]) await jsm.streams.delete(name).catch(() => {});
    await nc.close();
  });
  const { home, env } = await startEnv({
    DATABASE_URL: db.url,
    NATS_URL: natsUrl,
    ADPIPE_NAMESPACE: namespace,
  });
  const run = runStart(home, env);
  cleanups.push(async () => {
    if (run.proc.exitCode === null) {
      run.proc.kill("SIGINT");
      await run.exit(30_000).catch(() => run.proc.kill("SIGKILL"));
    }
    for (const p of processesNaming(home)) process.kill(p.pid, "SIGKILL");
    rmSync(home, { recursive: true, force: true });
  });
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
