import { join } from "node:path";
import { showControl } from "@adpipe/shared/logger";
import { StartError } from "./ports.ts";

export interface ServiceSpec {
  name: string;
  port: number;
  env: Record<string, string>;
}

export interface RunningService {
  name: string;
  url: string;
  proc: ReturnType<typeof Bun.spawn>;
}

const root = join(import.meta.dir, "..", "..");
const width = 9;
const colours = ["\x1b[36m", "\x1b[35m", "\x1b[33m", "\x1b[32m", "\x1b[34m"];

/**
 * One JSON log line as `time level msg key=value ...` (other lines pass through). Whatever the
 * line holds, control characters come out escaped (`\n`, `\x1b`): a value that came from a
 * request (a path, a header) is printed as text and cannot start a forged line of its own.
 */
export function formatLine(line: string): string {
  let pretty = line;
  try {
    const { time, level, msg, component: _c, ...rest } = JSON.parse(line) as Record<string, unknown>;
    const fields = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    pretty = `${String(time).slice(11, 19)} ${String(level).padEnd(5)} ${msg}${fields ? ` ${fields}` : ""}`;
  } catch {
    // Not JSON: printed as it is, escaped like the rest.
  }
  return showControl(pretty);
}

/**
 * Variables of `bun start`'s own environment a service must not inherit: connection URLs and
 * credentials. Each service gets the ones it uses from `bun start` (ServiceSpec.env), so a
 * DATABASE_URL or password in the shell that ran `bun start` reaches no service that does not
 * need it (`/proc/<pid>/environ` shows a process's environment to its user).
 */
const CREDENTIAL = /^(DATABASE_URL|NATS_URL|CLICKHOUSE_URL|NATS_USER|CLICKHOUSE_USER)$|PASSWORD|TOKEN|SECRET/;

export function inheritedEnv(env: Record<string, string | undefined> = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env))
    if (value !== undefined && !CREDENTIAL.test(key)) out[key] = value;
  return out;
}

async function pipeLines(stream: ReadableStream<Uint8Array>, prefix: string, onLine: (l: string) => void) {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) onLine(`${prefix}${formatLine(line)}`);
  }
  if (rest.trim()) onLine(`${prefix}${formatLine(rest)}`);
}

/**
 * Runs each service as its own process (`bun run start` in its folder, the same entry point the
 * Dockerfile uses), interleaving their logs with a service prefix. `onExit` hears of any process
 * that ends while the pipeline should be running.
 */
export function createSupervisor(
  print: (line: string) => void,
  onExit: (name: string, code: number | null) => void,
) {
  const running: RunningService[] = [];
  let stopping = false;
  const tty = process.stdout.isTTY;

  return {
    running,
    /** Resolves once `/health` answers; `signal` ends the wait early (Ctrl-C during start-up). */
    async start(spec: ServiceSpec, signal?: AbortSignal): Promise<RunningService> {
      const colour = tty ? (colours[running.length % colours.length] ?? "") : "";
      const prefix = `${colour}${spec.name.padEnd(width)}${tty ? "\x1b[0m" : ""}| `;
      // --silent: no "$ bun run src/index.ts" echo among the logs.
      const proc = Bun.spawn(["bun", "run", "--silent", "start"], {
        cwd: join(root, "services", spec.name),
        env: { ...inheritedEnv(), ...spec.env, PORT: String(spec.port) },
        // Its own process group: Ctrl-C reaches only `bun start`, which stops services in order.
        detached: true,
        stdout: "pipe",
        stderr: "pipe",
      });
      const service = { name: spec.name, url: `http://127.0.0.1:${spec.port}`, proc };
      running.push(service);
      pipeLines(proc.stdout, prefix, print);
      pipeLines(proc.stderr, prefix, print);
      proc.exited.then((code) => {
        if (!stopping) onExit(spec.name, code);
      });
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && !signal?.aborted) {
        if (proc.exitCode !== null)
          throw new StartError(`${spec.name} exited during start-up (code ${proc.exitCode})`);
        const ok = await fetch(`${service.url}/health`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) return service;
        await Bun.sleep(100);
      }
      if (signal?.aborted) throw new StartError("start-up interrupted");
      throw new StartError(`${spec.name} did not answer ${service.url}/health within 60 s`);
    },
    /** SIGTERM to every service (newest first), each given 15 s before SIGKILL. */
    async stopAll(): Promise<void> {
      stopping = true;
      for (const service of [...running].reverse()) {
        service.proc.kill("SIGTERM");
        const timer = setTimeout(() => service.proc.kill("SIGKILL"), 15_000);
        await service.proc.exited;
        clearTimeout(timer);
      }
    },
  };
}
