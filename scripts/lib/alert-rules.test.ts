// The shipped rules file is the generated one, Prometheus's own tool accepts it, and its unit
// tests (compose/prometheus/adpipe-rules.test.yml) pass with a firing and a quiet case for every
// alert. Needs Debian's prometheus package for promtool (.ci/run installs it).
import { describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  alertRules,
  durationSeconds,
  loadThresholds,
  renderRules,
  stallDelaySeconds,
} from "./alert-rules.ts";

const PROMTOOL = "/usr/bin/promtool";
const folder = join(import.meta.dir, "..", "..", "compose", "prometheus");
const promtool = (...args: string[]) => {
  // A missing promtool is a failure to fix (`apt-get install prometheus`, as .ci/run does).
  if (!existsSync(PROMTOOL))
    throw new Error(`${PROMTOOL} is missing: install Debian's prometheus (apt-get install -y prometheus)`);
  const run = Bun.spawnSync([PROMTOOL, ...args], { cwd: folder });
  return `exit ${run.exitCode} ${run.stdout.toString()}${run.stderr.toString()}`.trim();
};

describe("alert rules", () => {
  test("compose/prometheus/adpipe-rules.yml is the generated one (bun run alerts:rules > it after a change)", () => {
    expect(readFileSync(join(folder, "adpipe-rules.yml"), "utf8")).toBe(renderRules(loadThresholds({})));
  });

  test("promtool check rules accepts the file, and both compose files' configurations that load it", () => {
    expect(promtool("check", "rules", "adpipe-rules.yml")).toStartWith("exit 0");
    expect(promtool("check", "config", "prometheus.yml")).toStartWith("exit 0");
    // docker-compose.cluster.yml mounts its own configuration beside the same rules.
    const dir = mkdtempSync(join(tmpdir(), "adpipe-prometheus-"));
    try {
      copyFileSync(join(folder, "adpipe-rules.yml"), join(dir, "adpipe-rules.yml"));
      copyFileSync(join(folder, "..", "cluster", "prometheus.yml"), join(dir, "prometheus.yml"));
      expect(promtool("check", "config", join(dir, "prometheus.yml"))).toStartWith("exit 0");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("promtool test rules: every test passes", () => {
    expect(promtool("test", "rules", "adpipe-rules.test.yml")).toBe(
      "exit 0 Unit Testing:  adpipe-rules.test.yml\n  SUCCESS",
    );
  });

  test("every alert has a case where it fires and one where it must not", () => {
    const tests = (
      Bun.YAML.parse(readFileSync(join(folder, "adpipe-rules.test.yml"), "utf8")) as {
        tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
      }
    ).tests.flatMap((t) => t.alert_rule_test);
    const coverage = alertRules(loadThresholds({})).map(({ alert }) => {
      const cases = tests.filter((c) => c.alertname === alert);
      return {
        alert,
        fires: cases.some((c) => c.exp_alerts.length > 0),
        quiet: cases.some((c) => c.exp_alerts.length === 0),
      };
    });
    expect(coverage).toEqual(coverage.map(({ alert }) => ({ alert, fires: true, quiet: true })));
  });

  test("thresholds are settings: a value goes into the rules, a bad one names its variable", () => {
    const t = loadThresholds({ ADPIPE_ALERT_STALLED_SECONDS: "15", ADPIPE_ALERT_STALLED_FOR: "30s" });
    const stalled = alertRules(t).find((r) => r.alert === "AdpipeTableStalled");
    expect(stalled?.expr).toContain(") > 15 unless");
    expect(stalled?.for).toBe("30s");
    expect(stallDelaySeconds(t)).toBe(15 + 30 + 2 * 15);
    expect(() => loadThresholds({ ADPIPE_ALERT_STALLED_FOR: "soon" })).toThrow(
      "invalid setting ADPIPE_ALERT_STALLED_FOR: expected a Prometheus duration such as 30s, 5m, 1h",
    );
    expect(() => loadThresholds({ ADPIPE_ALERT_FRESHNESS_SECONDS: "-1" })).toThrow(
      "invalid setting ADPIPE_ALERT_FRESHNESS_SECONDS",
    );
    expect([durationSeconds("1h30m"), durationSeconds("90s"), durationSeconds("0")]).toEqual([5400, 90, 0]);
  });
});
