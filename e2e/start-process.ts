// Runs `bun start` as a user would (the root script, a child process) on a state folder and
// ports of its own, and looks for anything it left behind.
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { streams } from "@adpipe/shared/contract";
import { connectNats } from "@adpipe/shared/nats";
import { createTestDatabase, uniqueName } from "@adpipe/shared/testing";
import { freePorts, isPortFree } from "../scripts/lib/ports.ts";
import { portVariable, SERVICES } from "../scripts/lib/services.ts";

export const root = join(import.meta.dir, "..");

export interface StartRun {
  home: string;
  env: Record<string, string>;
  ports: number[];
  proc: ReturnType<typeof Bun.spawn>;
  output(): string;
  /** Resolves with the exit code; rejects after `ms`. */
  exit(ms: number): Promise<number>;
}

/**
 * A free port for everything `bun start` may listen on, so a run never meets a developer's: the
 * port variables as environment, and the ports.
 */
export async function freeStartPorts(): Promise<{ env: Record<string, string>; ports: number[] }> {
  const names = [
    "ADPIPE_POSTGRES_PORT",
    "ADPIPE_NATS_PORT",
    "ADPIPE_NATS_MONITOR_PORT",
    "ADPIPE_CLICKHOUSE_PORT",
    ...SERVICES.map(portVariable),
  ];
  const ports = await freePorts(names.length);
  return { env: Object.fromEntries(names.map((name, i) => [name, String(ports[i])])), ports };
}

/** A state folder of its own and free ports for a `bun start` run. */
export async function startEnv(extra: Record<string, string> = {}) {
  const home = mkdtempSync(join(tmpdir(), "adpipe-e2e-"));
  const env: Record<string, string> = {
    ADPIPE_HOME: home,
    SIMULATE_INTERVAL_SECONDS: "1",
    STATUS_INTERVAL_SECONDS: "1",
    ...(await freeStartPorts()).env,
  };
  return { home, env: { ...env, ...extra } };
}

export const natsUrl = process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222";

/** Cleanups a test registers as it creates things; run in reverse order, failures ignored. */
export type Cleanups = (() => Promise<unknown>)[];

export async function runCleanups(cleanups: Cleanups): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
}

/**
 * `startEnv` on the machine's PostgreSQL and NATS: a fresh database (not migrated: `bun start`
 * migrates it) and a NATS namespace of its own, both removed by the cleanups.
 */
export async function startEnvOnMachine(prefix: string, cleanups: Cleanups) {
  const db = await createTestDatabase({ migrate: false });
  cleanups.push(() => db.drop());
  const namespace = uniqueName(prefix);
  cleanups.push(async () => {
    const nc = await connectNats({ url: natsUrl, name: "adpipe-e2e-cleanup" });
    const jsm = await nc.jetstreamManager();
    const s = streams(namespace);
    for (const name of [s.delta, s.dlq, s.events]) await jsm.streams.delete(name).catch(() => {});
    await nc.close();
  });
  return startEnv({ DATABASE_URL: db.url, NATS_URL: natsUrl, ADPIPE_NAMESPACE: namespace });
}

/** Stops a run (SIGINT, then SIGKILL for anything left) and removes its state folder. */
export async function stopAndRemove(run: StartRun): Promise<void> {
  if (run.proc.exitCode === null) {
    run.proc.kill("SIGINT");
    await run.exit(30_000).catch(() => run.proc.kill("SIGKILL"));
  }
  for (const p of processesNaming(run.home)) process.kill(p.pid, "SIGKILL");
  rmSync(run.home, { recursive: true, force: true });
}

export function runStart(home: string, env: Record<string, string>): StartRun {
  const inherited = { ...process.env };
  // "No URLs configured" must hold even where the test runner's environment sets some.
  for (const key of ["DATABASE_URL", "NATS_URL", "CLICKHOUSE_URL", "ADPIPE_NAMESPACE"]) delete inherited[key];
  const proc = Bun.spawn(["bun", "start"], {
    cwd: root,
    env: { ...inherited, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([collect(proc.stdout), collect(proc.stderr)]);
  const ports = Object.entries(env)
    .filter(([k]) => k.endsWith("_PORT"))
    .map(([, v]) => Number(v));
  return {
    home,
    env,
    ports,
    proc,
    output: () => text,
    async exit(ms: number) {
      const code = await Promise.race([
        proc.exited,
        Bun.sleep(ms).then(() => {
          throw new Error(`bun start did not exit within ${ms} ms:\n${text.slice(-3000)}`);
        }),
      ]);
      await drained;
      return code;
    },
  };
}

/**
 * Processes whose command line or environment names `marker` (the run's state folder): every
 * process `bun start` starts inherits ADPIPE_HOME, so none can hide from this.
 */
export function processesNaming(marker: string): { pid: number; cmdline: string; cwd: string }[] {
  const found: { pid: number; cmdline: string; cwd: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8");
      if (cmdline.includes(marker) || environ.includes(marker))
        found.push({ pid, cmdline, cwd: readlinkSync(`/proc/${pid}/cwd`) });
    } catch {
      // Gone between the listing and the read, or not ours to read.
    }
  }
  return found;
}

export async function takenPorts(ports: number[]): Promise<number[]> {
  const taken: number[] = [];
  for (const port of ports) if (!(await isPortFree(port))) taken.push(port);
  return taken;
}

/** Polls `check` until it returns a value, or throws with `what` after `ms`. */
export async function waitFor<T>(
  what: string,
  ms: number,
  check: () => Promise<T | undefined>,
  context: () => string = () => "",
): Promise<T> {
  const deadline = Date.now() + ms;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await Bun.sleep(250);
  }
  throw new Error(`timed out waiting for ${what} (${String(lastError ?? "")}):\n${context().slice(-3000)}`);
}
