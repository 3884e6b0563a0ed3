// The whole pipeline for the fault suite, every piece its own process group so that each can be
// killed with SIGKILL and started again: an embedded PostgreSQL, a nats-server with JetStream, the
// embedded ClickHouse, and the extractor, loader and reporter as the processes `bun start` runs.
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnEmbeddedClickHouse } from "@adpipe/clickhouse-embedded/spawn";
import { createClickHouse } from "@adpipe/shared/clickhouse";
import { createLogger } from "@adpipe/shared/logger";
import { migrateOltp } from "@adpipe/shared/migrate";
import { connectNats, ensureStreams } from "@adpipe/shared/nats";
import { ensureLoaderConsumers, ensureReporterConsumer } from "@adpipe/shared/nats-consumers";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
import { createPool, type Pool } from "@adpipe/shared/pg";
import { freePorts } from "@adpipe/shared/ports";
import { startEmbeddedPostgres } from "../../scripts/lib/embedded-postgres.ts";

const root = join(import.meta.dir, "..", "..");
const quiet = createLogger("faults", "error");
export const SERVICES = ["extractor", "loader", "reporter"] as const;
export type ServiceName = (typeof SERVICES)[number];

/** A piece that can be killed outright and started again on the same state. */
export interface Piece {
  readonly name: string;
  /** SIGKILL to the whole process group, then waits for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (a clean stop), then waits for the exit. */
  stop(): Promise<void>;
  start(): Promise<void>;
  running(): boolean;
}

interface Proc {
  pid: number;
  exited: Promise<unknown>;
}

function groupSignal(proc: Proc | undefined, signal: NodeJS.Signals) {
  if (!proc) return;
  try {
    process.kill(-proc.pid, signal);
  } catch {
    // Already gone.
  }
}

function piece(name: string, launch: () => Promise<Proc>): Piece {
  let proc: Proc | undefined;
  let alive = false;
  const end = async (signal: NodeJS.Signals) => {
    const p = proc;
    if (!p || !alive) return;
    groupSignal(p, signal);
    await p.exited;
  };
  return {
    name,
    kill: () => end("SIGKILL"),
    stop: () => end("SIGTERM"),
    async start() {
      proc = await launch();
      alive = true;
      void proc.exited.then(() => {
        alive = false;
      });
    },
    running: () => alive,
  };
}

export interface StackOptions {
  /** Settings every service gets (beside the stack's own). */
  env?: Record<string, string>;
  /**
   * An external NATS (a cluster's comma-separated URLs) instead of a nats-server of the stack's
   * own; the `nats` piece then refuses to be killed (kill the cluster's nodes instead).
   */
  natsUrl?: string;
  /** Copies of each stream (`NATS_STREAM_REPLICAS`), for a cluster. */
  streamReplicas?: number;
  /** A second loader process (`loader2`) sharing the durable consumers: a hot spare. */
  secondLoader?: boolean;
  /** A second reporter process (`reporter2`): the lease makes one active, the other a hot standby. */
  secondReporter?: boolean;
}

export interface Stack {
  dir: string;
  namespace: string;
  database: string;
  postgresUrl: string;
  natsUrl: string;
  clickhouseUrl: string;
  clickhouseLogin: { user: string; password: string };
  urls: Record<ServiceName, string>;
  token: string;
  pieces: { postgres: Piece; nats: Piece; clickhouse: Piece } & Record<ServiceName, Piece> & {
      loader2?: Piece;
      reporter2?: Piece;
    };
  /** Each service process's URL, `loader2` and `reporter2` included when there are. */
  serviceUrls: Record<string, string>;
  /** A superuser pool for the writer and the comparisons (application_name faults-harness). */
  pool: Pool;
  /** Stops everything; removes the state folder unless `keep` (its logs stay for a look). */
  close(o?: { keep?: boolean }): Promise<void>;
}

async function waitHealthy(url: string, exited: Promise<unknown>, what: string, timeoutMs = 60_000) {
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !ended) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await Bun.sleep(100);
  }
  throw new Error(`${what} did not answer ${url} ${ended ? "(it exited)" : `within ${timeoutMs} ms`}`);
}

/** Starts everything; state lives under a fresh folder that `close()` removes. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const env = {
    ...(options.streamReplicas ? { NATS_STREAM_REPLICAS: String(options.streamReplicas) } : {}),
    ...options.env,
  };
  const dir = join(tmpdir(), `adpipe-faults-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const [pgPort, natsPort, chPort, ...servicePorts] = await freePorts(8);
  const namespace = "faults";
  const database = "faults";
  const token = crypto.randomUUID().replaceAll("-", "");
  const natsUrl = options.natsUrl ?? `nats://127.0.0.1:${natsPort}`;
  const clickhouseUrl = `http://127.0.0.1:${chPort}`;
  // The embedded server's owner, with a password as bun start runs it.
  const clickhouseLogin = { user: "default", password: randomBytes(16).toString("hex") };
  let postgresUrl = "";

  const postgres = piece("postgres", async () => {
    const pg = await startEmbeddedPostgres(join(dir, "pg"), pgPort as number, quiet);
    postgresUrl = pg.url;
    return { pid: pg.pid, exited: pg.exited };
  });
  const external = piece("nats", async () => {
    throw new Error("NATS is external to this stack: kill its cluster's nodes instead");
  });
  const nats = options.natsUrl
    ? external
    : piece("nats", async () => {
        const proc = Bun.spawn(
          ["nats-server", "-a", "127.0.0.1", "-p", String(natsPort), "-js", "-sd", join(dir, "nats")],
          { stdout: "ignore", stderr: "ignore", detached: true },
        );
        const conn = await (async () => {
          for (let i = 0; i < 100; i++) {
            const nc = await connectNats({ url: natsUrl }).catch(() => undefined);
            if (nc) return nc;
            await Bun.sleep(100);
          }
          throw new Error("nats-server did not start");
        })();
        // JetStream ready: the streams (kept on disk) answer.
        const jsm = await conn.jetstreamManager();
        for (let i = 0; i < 100; i++) {
          if (
            await jsm.streams
              .list()
              .next()
              .then(
                () => true,
                () => false,
              )
          )
            break;
          await Bun.sleep(100);
        }
        await conn.close();
        return proc;
      });
  const clickhouse = piece("clickhouse", async () => {
    mkdirSync(join(dir, "clickhouse"), { recursive: true });
    const ch = await spawnEmbeddedClickHouse({
      dataDir: join(dir, "clickhouse"),
      port: chPort,
      logFile: join(dir, "clickhouse.log"),
      detached: true,
      startTimeoutMs: 60_000,
      password: clickhouseLogin.password,
    });
    return ch;
  });

  const urls = Object.fromEntries(
    SERVICES.map((s, i) => [s, `http://127.0.0.1:${servicePorts[i]}`]),
  ) as Record<ServiceName, string>;
  const serviceUrls: Record<string, string> = { ...urls };
  if (options.secondLoader) serviceUrls.loader2 = `http://127.0.0.1:${servicePorts[3]}`;
  if (options.secondReporter) serviceUrls.reporter2 = `http://127.0.0.1:${servicePorts[4]}`;
  const service = (name: ServiceName, i: number, instance: string = name) =>
    piece(instance, async () => {
      const log = openSync(join(dir, `${instance}.log`), "a");
      const proc = Bun.spawn(["bun", "run", join(root, "services", name, "src", "index.ts")], {
        cwd: root,
        env: {
          ...process.env,
          DATABASE_URL: postgresUrl,
          NATS_URL: natsUrl,
          CLICKHOUSE_URL: clickhouseUrl,
          CLICKHOUSE_USER: clickhouseLogin.user,
          CLICKHOUSE_PASSWORD: clickhouseLogin.password,
          CLICKHOUSE_DATABASE: database,
          ADPIPE_NAMESPACE: namespace,
          ADPIPE_API_TOKEN: token,
          PORT: String(servicePorts[i]),
          LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
          ...env,
        },
        stdout: log,
        stderr: log,
        detached: true,
      });
      closeSync(log);
      await waitHealthy(`${serviceUrls[instance]}/health`, proc.exited, instance);
      return proc;
    });

  const pieces = {
    postgres,
    nats,
    clickhouse,
    extractor: service("extractor", 0),
    loader: service("loader", 1),
    reporter: service("reporter", 2),
    loader2: options.secondLoader ? service("loader", 3, "loader2") : undefined,
    reporter2: options.secondReporter ? service("reporter", 4, "reporter2") : undefined,
  };
  let pool: Pool | undefined;
  const close = async (o: { keep?: boolean } = {}) => {
    await pool?.end().catch(() => {});
    for (const p of [
      pieces.reporter2,
      pieces.reporter,
      pieces.loader2,
      pieces.loader,
      pieces.extractor,
      clickhouse,
      nats,
      postgres,
    ])
      await p?.kill().catch(() => {});
    // keep (or ADPIPE_FAULTS_KEEP=1) keeps the folder (each process's log) for a look after the run.
    if (o.keep || process.env.ADPIPE_FAULTS_KEEP === "1") console.log(`stack folder kept: ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  };
  try {
    await postgres.start();
    if (!options.natsUrl) await nats.start();
    await clickhouse.start();
    await migrateOltp(postgresUrl);
    const ch = createClickHouse({ url: clickhouseUrl, ...clickhouseLogin });
    await ch.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
    await migrateOlap(ch, database);
    await ch.close();
    const nc = await connectNats({ url: natsUrl });
    const jsm = await nc.jetstreamManager();
    await ensureStreams(jsm, namespace, { replicas: options.streamReplicas });
    await ensureLoaderConsumers(jsm, namespace);
    await ensureReporterConsumer(jsm, namespace);
    await nc.close();
    for (const s of SERVICES) await pieces[s].start();
    await pieces.loader2?.start();
    await pieces.reporter2?.start();
    const url = new URL(postgresUrl);
    url.searchParams.set("application_name", "faults-harness");
    pool = createPool({ connectionString: url.toString(), max: 8 });
  } catch (err) {
    await close();
    throw err;
  }
  return {
    dir,
    namespace,
    database,
    get postgresUrl() {
      return postgresUrl;
    },
    natsUrl,
    clickhouseUrl,
    clickhouseLogin,
    urls,
    serviceUrls,
    token,
    pieces,
    pool: pool as Pool,
    close,
  };
}
