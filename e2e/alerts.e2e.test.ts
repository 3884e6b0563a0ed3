// The shipped alert rules against a running pipeline (issue #34, docs/operations.md#alerts):
// Debian's `prometheus` (as .ci/run installs it) scrapes the extractor, loader and reporter
// processes every second and evaluates adpipe's rules, rendered with short thresholds. While the
// pipeline runs nothing stalls; the extractor stopped, AdpipeTableStalled fires for every table
// but the one an operator paused, within the rule's documented delay; the extractor started
// again, the alert resolves. The measured times are printed.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TABLES } from "@adpipe/shared/contract";
import { freePorts } from "@adpipe/shared/ports";
import { waitFor } from "@adpipe/shared/testing";
import { loadThresholds, renderRules, stallDelaySeconds } from "../scripts/lib/alert-rules.ts";
import { type Stack, startStack } from "./faults/stack.ts";
import { seed } from "./faults/writer.ts";

const PROMETHEUS = "/usr/bin/prometheus";
const thresholds = loadThresholds({
  ADPIPE_ALERT_STALLED_SECONDS: "5",
  ADPIPE_ALERT_STALLED_FOR: "2s",
  ADPIPE_ALERT_EVALUATION_INTERVAL: "1s",
  ADPIPE_ALERT_LOOKBACK: "10m",
});
const SCRAPE_SECONDS = 1;

let stack: Stack;
let dir: string;
let prometheus: ReturnType<typeof Bun.spawn> | undefined;
let api: string;

interface Alert {
  labels: Record<string, string>;
  state: "pending" | "firing";
}

beforeAll(async () => {
  // A missing prometheus is a failure to fix (`apt-get install prometheus`, as .ci/run does).
  if (!existsSync(PROMETHEUS))
    throw new Error(`${PROMETHEUS} is missing: install Debian's prometheus (apt-get install -y prometheus)`);
  stack = await startStack();
  await seed(stack.pool, 5);
  dir = mkdtempSync(join(tmpdir(), "adpipe-prometheus-"));
  writeFileSync(join(dir, "adpipe-rules.yml"), renderRules(thresholds));
  const job = (service: "extractor" | "loader" | "reporter") =>
    `  - job_name: adpipe-${service}\n    static_configs:\n      - targets: ["${new URL(stack.urls[service]).host}"]\n`;
  writeFileSync(
    join(dir, "prometheus.yml"),
    `global:\n  scrape_interval: ${SCRAPE_SECONDS}s\n  evaluation_interval: 1s\nrule_files:\n  - adpipe-rules.yml\nscrape_configs:\n${job("extractor")}${job("loader")}${job("reporter")}`,
  );
  const [port] = await freePorts(1);
  api = `http://127.0.0.1:${port}`;
  prometheus = Bun.spawn(
    [
      PROMETHEUS,
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdout: "ignore", stderr: "ignore" },
  );
  await waitFor(async () => (await fetch(`${api}/-/ready`).catch(() => null))?.ok, {
    what: "prometheus ready",
    timeoutMs: 60_000,
    intervalMs: 200,
  });
}, 300_000);

afterAll(async () => {
  prometheus?.kill();
  await prometheus?.exited;
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function stallAlerts(): Promise<Alert[]> {
  const body = (await (await fetch(`${api}/api/v1/alerts`)).json()) as { data: { alerts: Alert[] } };
  return body.data.alerts.filter((a) => a.labels.alertname === "AdpipeTableStalled");
}

const hold = (action: "pause" | "resume", table: string) =>
  fetch(`${stack.urls.extractor}/${action}`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.token}`, "content-type": "application/json" },
    body: JSON.stringify({ table }),
  });

test("AdpipeTableStalled fires within its documented delay when the extractor stops, and resolves when it is back", async () => {
  // Healthy: every target scraped and every table advancing, for longer than the threshold.
  await waitFor(
    async () => {
      const body = (await (await fetch(`${api}/api/v1/query?query=up`)).json()) as {
        data: { result: { value: [number, string] }[] };
      };
      return body.data.result.length === 3 && body.data.result.every((r) => r.value[1] === "1");
    },
    { what: "prometheus scraping the three services", timeoutMs: 60_000, intervalMs: 500 },
  );
  expect((await hold("pause", "advertiser")).status).toBe(200);
  await Bun.sleep((thresholds.ADPIPE_ALERT_STALLED_SECONDS + 3) * 1000);
  expect(await stallAlerts()).toEqual([]);

  const delay = stallDelaySeconds(thresholds);
  // Every table but the paused one.
  const stalled = TABLES.filter((t) => t !== "advertiser").sort();
  const stoppedAt = Date.now();
  await stack.pieces.extractor.stop();
  const fired = await waitFor(
    async () => {
      const firing = (await stallAlerts()).filter((a) => a.state === "firing");
      return firing.length >= stalled.length ? firing : undefined;
    },
    // A loaded machine evaluates late: wait well past the documented delay; the figure is printed.
    {
      what: `AdpipeTableStalled firing for ${stalled.join(", ")}`,
      timeoutMs: (delay + 30) * 1000,
      intervalMs: 200,
    },
  );
  const firedAfter = (Date.now() - stoppedAt) / 1000;
  expect(fired.map((a) => a.labels.table).sort()).toEqual(stalled);

  const startedAt = Date.now();
  await stack.pieces.extractor.start();
  expect((await hold("resume", "advertiser")).status).toBe(200);
  await waitFor(async () => (await stallAlerts()).length === 0, {
    what: "AdpipeTableStalled resolved",
    timeoutMs: 60_000,
    intervalMs: 200,
  });
  const resolvedAfter = (Date.now() - startedAt) / 1000;
  console.log(
    `alerts: AdpipeTableStalled fired ${firedAfter.toFixed(1)} s after the extractor stopped (documented delay at most ${delay} s: ${thresholds.ADPIPE_ALERT_STALLED_SECONDS} s stalled + ${thresholds.ADPIPE_ALERT_STALLED_FOR} for + two evaluations); resolved ${resolvedAfter.toFixed(1)} s after it was started again (incl. its start-up)`,
  );
}, 300_000);
