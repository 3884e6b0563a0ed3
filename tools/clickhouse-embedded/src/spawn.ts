import { appendFileSync } from "node:fs";
import { join } from "node:path";
import type { EmbeddedUsers } from "./access.ts";
import { BUN_RUNTIME_ARGS } from "./limits.ts";

export interface SpawnOptions {
  dataDir: string;
  /** 0 (the default) lets the server pick a free port. */
  port?: number;
  host?: string;
  /** The owner (`default` unless named). */
  user?: string;
  /** The owner's password (passed in the environment, not on the command line); required unless `insecure`. */
  password?: string;
  /** Development only: an owner without a password (cli.ts `--insecure`). */
  insecure?: boolean;
  /** More users beside the owner, with their grants (passed in the environment, not on the command line). */
  users?: EmbeddedUsers;
  /** Host names besides loopback (`--allowed-hosts`) and browser tools' origins (`--allow-origin`). */
  allowedHosts?: readonly string[];
  allowedOrigins?: readonly string[];
  /** Where the server's output goes; without it, only its last lines are kept for error messages. */
  logFile?: string;
  /** How long to wait for `/ping` to answer. */
  startTimeoutMs?: number;
  /**
   * Its own process group, so a terminal's Ctrl-C reaches only the parent, which can then stop
   * the server after whatever still writes to it (`bun start` stops the services first).
   */
  detached?: boolean;
}

export interface EmbeddedClickHouse {
  url: string;
  port: number;
  pid: number;
  /** Resolves with the exit code when the process ends, for whatever reason. */
  exited: Promise<number>;
  /** SIGTERM: finishes running requests, closes the engine, waits for the process to exit. */
  stop(): Promise<void>;
  /** SIGKILL, then waits for the exit: a crash, for tests. */
  kill(): Promise<void>;
}

const cli = join(import.meta.dir, "cli.ts");
const LISTENING = /listening on (http:\/\/\S+)/;

/**
 * Starts the embedded ClickHouse server as a child process (chDB allows one engine per process,
 * and tests must be able to stop and restart it) and resolves once it answers `/ping`.
 */
export async function spawnEmbeddedClickHouse(options: SpawnOptions): Promise<EmbeddedClickHouse> {
  const args = [
    cli,
    "--data",
    options.dataDir,
    "--port",
    String(options.port ?? 0),
    "--parent-pid",
    String(process.pid),
  ];
  if (options.host) args.push("--host", options.host);
  if (options.user) args.push("--user", options.user);
  if (options.insecure) args.push("--insecure");
  if (options.allowedHosts?.length) args.push("--allowed-hosts", options.allowedHosts.join(","));
  if (options.allowedOrigins?.length) args.push("--allow-origin", options.allowedOrigins.join(","));
  // The caller's own ClickHouse credentials (a client's settings) must not become the owner's.
  const { CLICKHOUSE_USER: _u, CLICKHOUSE_PASSWORD: _p, ...inherited } = process.env;
  // The runtime flag lifts Bun's 16 KiB request-header limit to what ClickHouse accepts (limits.ts).
  const proc = Bun.spawn([process.execPath, ...BUN_RUNTIME_ARGS, ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    detached: options.detached ?? false,
    // Not on the command line, where `ps` would show it.
    env: {
      ...inherited,
      CLICKHOUSE_EMBEDDED_PASSWORD: options.password ?? "",
      CLICKHOUSE_EMBEDDED_INSECURE: "",
      CLICKHOUSE_EMBEDDED_ALLOWED_HOSTS: "",
      CLICKHOUSE_EMBEDDED_ALLOWED_ORIGINS: "",
      CLICKHOUSE_EMBEDDED_USERS: options.users ? JSON.stringify(options.users) : "",
    },
  });
  const tail: string[] = [];
  const record = (text: string) => {
    if (options.logFile) appendFileSync(options.logFile, text);
    tail.push(...text.split("\n").filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 20));
  };
  let resolveUrl: (url: string) => void = () => {};
  const urlSeen = new Promise<string>((resolve) => {
    resolveUrl = resolve;
  });
  // Both pipes are drained for the server's whole life so it never blocks on a full pipe.
  const pump = async (stream: ReadableStream<Uint8Array>, watch: boolean) => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      record(text);
      if (watch) {
        pending += text;
        const url = LISTENING.exec(pending)?.[1];
        if (url) {
          resolveUrl(url);
          watch = false;
        }
      }
    }
  };
  void pump(proc.stdout, true);
  void pump(proc.stderr, false);

  const failed = (why: string) =>
    new Error(`embedded ClickHouse did not start (${why}): ${tail.slice(-5).join(" | ") || "no output"}`);
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  const url = await Promise.race([
    urlSeen,
    proc.exited.then((code) => Promise.reject(failed(`exit code ${code}`))),
    Bun.sleep(Math.max(0, deadline - Date.now())).then(() => Promise.reject(failed("timed out"))),
  ]).catch((err) => {
    proc.kill("SIGKILL");
    throw err;
  });
  while (true) {
    const ok = await fetch(`${url}/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw failed("no answer on /ping");
    }
    await Bun.sleep(20);
  }
  const end = async (signal: "SIGTERM" | "SIGKILL") => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    await proc.exited;
  };
  return {
    url,
    port: Number(new URL(url).port),
    pid: proc.pid,
    exited: proc.exited,
    stop: () => end("SIGTERM"),
    kill: () => end("SIGKILL"),
  };
}
