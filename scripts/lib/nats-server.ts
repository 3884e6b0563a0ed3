import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connectNats } from "@adpipe/shared/nats";
import { type ProvisionOptions, provisionNamespace } from "@adpipe/shared/nats-provision";
import { StartError } from "./ports.ts";

export interface RunningNats {
  url: string;
  monitorUrl: string;
  /** Whether JetStream writes every message to disk before acknowledging it (sync_interval: always). */
  syncAlways: boolean;
  /** The server's version, e.g. "2.9.10". */
  version: string;
  /** Resolves when the server process ends, on its own or stopped. */
  exited: Promise<number>;
  stop(): Promise<void>;
}

function findNatsServer(): string | undefined {
  const onPath = Bun.which("nats-server");
  if (onPath) return onPath;
  return ["/usr/sbin/nats-server", "/usr/local/bin/nats-server"].find((p) => existsSync(p));
}

/** The version `nats-server --version` prints ("nats-server: v2.9.10"), or "0.0.0". */
export function natsServerVersion(binary: string): string {
  const out = Bun.spawnSync([binary, "--version"]).stdout.toString();
  return out.match(/v?(\d+\.\d+\.\d+)/)?.[1] ?? "0.0.0";
}

/** `sync_interval` exists from nats-server 2.10 (2.9 rejects the field as unknown). */
export function supportsSyncAlways(version: string): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > 2 || (major === 2 && minor >= 10);
}

/**
 * A nats-server from the PATH with JetStream and file storage under `stateDir`. Where the server
 * supports it, JetStream fsyncs every message before acknowledging it (`sync_interval: always`
 * in a config file written next to the store); an older server runs with its default (flush
 * every 2 minutes), and the caller says so.
 */
export async function startNatsServer(
  stateDir: string,
  port: number,
  monitorPort: number,
  /** A config file (e.g. the per-service users `bun start` writes); flags still set the rest. */
  configFile?: string,
): Promise<RunningNats> {
  const binary = findNatsServer();
  if (!binary) {
    throw new StartError(
      "nats-server not found: install it (Debian/Ubuntu: apt-get install nats-server; or a release binary from the NATS project) or set NATS_URL to a running server",
    );
  }
  const storeDir = join(stateDir, "nats");
  mkdirSync(storeDir, { recursive: true });
  const version = natsServerVersion(binary);
  const syncAlways = supportsSyncAlways(version);
  const durability: string[] = [];
  if (syncAlways) {
    const conf = join(stateDir, "nats.conf");
    writeFileSync(
      conf,
      // One config file: JetStream's durability, then the caller's (users and permissions).
      `jetstream {\n  store_dir: ${JSON.stringify(storeDir)}\n  sync_interval: always\n}\n${
        configFile ? readFileSync(configFile, "utf8") : ""
      }`,
    );
    durability.push("-c", conf);
  }
  const proc = Bun.spawn(
    [
      binary,
      ...(durability.length > 0 ? durability : configFile ? ["-c", configFile] : []),
      "-a",
      "127.0.0.1",
      "-p",
      String(port),
      "-m",
      String(monitorPort),
      "-js",
      "-sd",
      storeDir,
    ],
    // process.env as it is now (Bun.spawn's default is the environment at launch): it carries
    // the marker that lets a later `bun start` find a server this one left behind.
    { stdout: "ignore", stderr: "pipe", detached: true, env: { ...process.env } },
  );
  const monitorUrl = `http://127.0.0.1:${monitorPort}`;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) {
      const stderr = await new Response(proc.stderr).text();
      throw new StartError(`nats-server exited at start: ${stderr.trim().split("\n").slice(-2).join(" ")}`);
    }
    const ok = await fetch(`${monitorUrl}/healthz?js-enabled-only=true`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) {
      return {
        url: `nats://127.0.0.1:${port}`,
        monitorUrl,
        syncAlways,
        version,
        exited: proc.exited,
        async stop() {
          proc.kill("SIGTERM");
          await proc.exited;
        },
      };
    }
    await Bun.sleep(100);
  }
  proc.kill("SIGKILL");
  throw new StartError(`nats-server did not become healthy on port ${port} within 10 s`);
}

/**
 * The namespace's streams and consumers, made as `provisioner` (the one NATS user allowed to), so
 * the services can start with NATS_PROVISION=false under users that cannot change them.
 */
export async function provisionAs(
  url: string,
  provisioner: { user: string; pass: string },
  namespace: string,
  options: ProvisionOptions,
): Promise<void> {
  const nc = await connectNats({ url, name: "adpipe-start", ...provisioner });
  try {
    await provisionNamespace(await nc.jetstreamManager(), namespace, options);
  } finally {
    await nc.close();
  }
}
