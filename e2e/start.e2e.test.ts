// `bun start` end to end: the pipeline moves rows from PostgreSQL into ClickHouse (and, once the
// reporter runs, into a KPI report), Ctrl-C leaves no process and no port behind, a second run
// reuses the state, and a failure stops everything with one line naming what failed.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { createClickHouse } from "@adpipe/shared/clickhouse";
import { TABLES } from "@adpipe/shared/contract";
import {
  type Cleanups,
  natsUrl,
  processesNaming,
  runCleanups,
  runStart,
  type StartRun,
  startEnv,
  startEnvOnMachine,
  takenPorts,
  waitFor,
} from "./start-process.ts";

const cleanups: Cleanups = [];

afterEach(async () => {
  await runCleanups(cleanups);
});

/** Stops a run that a failed assertion left running (and anything it left), then removes its folder. */
function track(run: StartRun) {
  cleanups.push(async () => {
    if (run.proc.exitCode === null) {
      run.proc.kill("SIGINT");
      await run.exit(30_000).catch(() => run.proc.kill("SIGKILL"));
    }
    // Whatever a failed test left (a killed run's servers) goes too, so no run outlives its test.
    for (const p of processesNaming(run.home)) process.kill(p.pid, "SIGKILL");
    rmSync(run.home, { recursive: true, force: true });
  });
  return run;
}

async function waitForPipeline(run: StartRun): Promise<Record<string, number>> {
  // Every caller authenticates, the owner too: bun start makes its password (owner-only) before
  // it starts ClickHouse, so the file is there once the server answers.
  await waitFor("ClickHouse's owner password", 90_000, async () =>
    existsSync(join(run.home, "clickhouse-owner-password")) ? true : undefined,
  );
  const clickhouse = createClickHouse({
    url: `http://127.0.0.1:${run.env.ADPIPE_CLICKHOUSE_PORT}`,
    user: "default",
    password: readFileSync(join(run.home, "clickhouse-owner-password"), "utf8").trim(),
    database: "adpipe",
  });
  try {
    const counts = await waitFor(
      "rows of every table in ClickHouse's _current views",
      90_000,
      async () => {
        const result = await clickhouse.query({
          query: `SELECT ${TABLES.map((t) => `(SELECT count() FROM ${t}_current) AS ${t}`).join(", ")}`,
          format: "JSONEachRow",
        });
        const [row] = await result.json<Record<string, string>>();
        const counts = Object.fromEntries(TABLES.map((t) => [t, Number(row?.[t] ?? 0)]));
        return TABLES.every((t) => (counts[t] ?? 0) > 0) ? counts : undefined;
      },
      run.output,
    );
    await waitFor(
      "a campaign in the KPI report",
      90_000,
      async () => {
        const result = await clickhouse.query({
          query: "SELECT count() AS n FROM advertiser_campaigns_totals_report FINAL",
          format: "JSONEachRow",
        });
        const [row] = await result.json<{ n: string }>();
        return Number(row?.n) > 0 ? true : undefined;
      },
      run.output,
    );
    return counts;
  } finally {
    await clickhouse.close();
  }
}

async function stopAndCheckNothingLeft(run: StartRun): Promise<void> {
  run.proc.kill("SIGINT");
  expect(await run.exit(30_000)).toBe(0);
  expect(run.output()).toContain("adpipe   | stopped");
  expect(processesNaming(run.home)).toEqual([]);
  expect(await takenPorts(run.ports)).toEqual([]);
}

describe("bun start", () => {
  test("with nothing configured: embedded PostgreSQL, nats-server, embedded ClickHouse; a second run reuses the state", async () => {
    const { home, env } = await startEnv();
    const first = track(runStart(home, env));
    const counts = await waitForPipeline(first);
    expect(counts.impressions).toBeGreaterThan(0);
    expect(first.output()).toContain("PostgreSQL was empty: generated a first batch");
    await waitFor("the status line", 10_000, async () =>
      /postgres → clickhouse: advertiser \d+ → \d+/.test(first.output()) ? true : undefined,
    );
    await stopAndCheckNothingLeft(first);

    const second = track(runStart(home, env));
    await waitForPipeline(second);
    expect(second.output()).not.toContain("PostgreSQL was empty");
    await stopAndCheckNothingLeft(second);
  }, 300_000);

  test("with DATABASE_URL and NATS_URL: the machine's PostgreSQL and NATS", async () => {
    const { home, env } = await startEnvOnMachine("e2e", cleanups);
    const run = track(runStart(home, env));
    await waitForPipeline(run);
    expect(run.output()).toContain(`NATS: ${natsUrl}`);
    await stopAndCheckNothingLeft(run);
  }, 200_000);

  test("a bun start killed outright: the next one on the same folder stops what it left, then starts", async () => {
    const { home, env } = await startEnv();
    const killed = track(runStart(home, env));
    await waitForPipeline(killed);
    // The command and the script it runs, as a SIGKILL or a crash would end them.
    const start = processesNaming(home).filter((p) => p.cmdline.includes("scripts/start.ts"));
    for (const p of [...start, { pid: killed.proc.pid }]) process.kill(p.pid, "SIGKILL");
    await killed.exit(10_000);
    expect(processesNaming(home).length).toBeGreaterThan(0);

    const next = track(runStart(home, env));
    // Before the new pipeline runs, the old one's ClickHouse may still answer: wait for the new one.
    await waitFor(
      "the new run",
      60_000,
      async () => (next.output().includes("Ctrl-C stops everything") ? true : undefined),
      next.output,
    );
    expect(next.output()).toMatch(/stopping \d+ processes an earlier bun start on .* left running/);
    await waitForPipeline(next);
    await stopAndCheckNothingLeft(next);
  }, 300_000);

  test("a port already taken: one line naming it, nothing started", async () => {
    const { home, env } = await startEnv();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) =>
      blocker.listen(Number(env.ADPIPE_CLICKHOUSE_PORT), "127.0.0.1", resolve),
    );
    cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
    const run = track(runStart(home, env));
    expect(await run.exit(30_000)).toBe(1);
    expect(run.output()).toContain(
      `adpipe: port ${env.ADPIPE_CLICKHOUSE_PORT} for the embedded ClickHouse is already in use`,
    );
    expect(processesNaming(home)).toEqual([]);
  }, 60_000);

  test("ClickHouse cannot start after PostgreSQL and NATS did: one line, both stopped again, exit code 1", async () => {
    const { home, env } = await startEnv();
    writeFileSync(join(home, "clickhouse"), "not a folder");
    const run = track(runStart(home, env));
    expect(await run.exit(60_000)).toBe(1);
    expect(run.output()).toContain("or set CLICKHOUSE_URL to use a running server");
    expect(run.output()).toContain("PostgreSQL: embedded");
    expect(run.output()).toContain("NATS: nats-server");
    expect(processesNaming(home)).toEqual([]);
    expect(await takenPorts(run.ports)).toEqual([]);
  }, 200_000);

  test("a service that dies later: one line naming it, everything stopped, exit code 1", async () => {
    const { home, env } = await startEnv();
    const run = track(runStart(home, env));
    await waitForPipeline(run);
    const loader = processesNaming(home).filter((p) => p.cwd.endsWith("/services/loader"));
    expect(loader.length).toBeGreaterThan(0);
    for (const p of loader) process.kill(p.pid, "SIGKILL");
    expect(await run.exit(30_000)).toBe(1);
    expect(run.output()).toContain("adpipe: loader stopped unexpectedly");
    expect(processesNaming(home)).toEqual([]);
    expect(await takenPorts(run.ports)).toEqual([]);
  }, 200_000);
});
