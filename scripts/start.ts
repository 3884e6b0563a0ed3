// `bun start`: the whole pipeline on one machine. Whatever DATABASE_URL / NATS_URL name is used
// as it is; what is not configured is started here with its state under ADPIPE_HOME (.adpipe/),
// reused by the next run. Ctrl-C stops everything this command started.
import { join } from "node:path";
import { z } from "zod";
import { parseConfig, settings } from "../shared/src/config.ts";
import { createLogger } from "../shared/src/logger.ts";
import { migrateOltp } from "../shared/src/migrate.ts";
import { createPool } from "../shared/src/pg.ts";
import { startEmbeddedPostgres } from "./lib/embedded-postgres.ts";
import { startNatsServer } from "./lib/nats-server.ts";
import { requireFreePort, StartError } from "./lib/ports.ts";
import { createStatus } from "./lib/status.ts";
import { createSupervisor } from "./lib/supervisor.ts";

const port = (fallback: number) => settings.PORT.default(fallback);
const optionalUrl = (schema: z.ZodType<string>) => schema.optional();

function loadStartConfig() {
  return parseConfig({
    ADPIPE_HOME: z.string().default(join(import.meta.dir, "..", ".adpipe")),
    DATABASE_URL: optionalUrl(settings.DATABASE_URL.unwrap()),
    NATS_URL: optionalUrl(settings.NATS_URL.unwrap()),
    ADPIPE_NAMESPACE: settings.ADPIPE_NAMESPACE,
    ADPIPE_POSTGRES_PORT: port(54329),
    ADPIPE_NATS_PORT: port(42229),
    ADPIPE_NATS_MONITOR_PORT: port(8229),
    GENERATOR_PORT: port(3001),
    SIMULATE_INTERVAL_SECONDS: z.coerce.number().min(1).default(5),
    STATUS_INTERVAL_SECONDS: z.coerce.number().min(0.5).default(5),
    LOG_LEVEL: settings.LOG_LEVEL,
  });
}

async function main(): Promise<void> {
  const config = loadStartConfig();
  const logger = createLogger("start", config.LOG_LEVEL);
  const say = (line: string) => process.stdout.write(`${"adpipe".padEnd(9)}| ${line}\n`);
  const cleanups: { name: string; stop: () => Promise<void> }[] = [];
  let shuttingDown = false;

  const shutdown = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    for (const { name, stop } of cleanups.reverse()) {
      await stop().catch((err) =>
        say(`stopping ${name} failed: ${err instanceof Error ? err.message : err}`),
      );
    }
    say(code === 0 ? "stopped" : "stopped after an error");
    process.exit(code);
  };
  const fail = (message: string) => {
    process.stderr.write(`adpipe: ${message}\n`);
    void shutdown(1);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));

  try {
    const supervisor = createSupervisor(
      (line) => process.stdout.write(`${line}\n`),
      (name, code) => {
        if (!shuttingDown) fail(`${name} stopped unexpectedly (exit code ${code}); stopping the pipeline`);
      },
    );

    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      await requireFreePort(config.ADPIPE_POSTGRES_PORT, "the embedded PostgreSQL", "ADPIPE_POSTGRES_PORT");
      const pg = await startEmbeddedPostgres(config.ADPIPE_HOME, config.ADPIPE_POSTGRES_PORT, logger);
      cleanups.push({ name: "PostgreSQL", stop: pg.stop });
      databaseUrl = pg.url;
      say(
        `PostgreSQL: embedded, ${pg.url.replace(/:[^:@]*@/, ":***@")} (data in ${config.ADPIPE_HOME}/postgres)`,
      );
    } else say(`PostgreSQL: ${databaseUrl.replace(/:[^:@/]*@/, ":***@")}`);

    let natsUrl = config.NATS_URL;
    if (!natsUrl) {
      await requireFreePort(config.ADPIPE_NATS_PORT, "nats-server", "ADPIPE_NATS_PORT");
      await requireFreePort(
        config.ADPIPE_NATS_MONITOR_PORT,
        "nats-server monitoring",
        "ADPIPE_NATS_MONITOR_PORT",
      );
      const nats = await startNatsServer(
        config.ADPIPE_HOME,
        config.ADPIPE_NATS_PORT,
        config.ADPIPE_NATS_MONITOR_PORT,
      );
      cleanups.push({ name: "nats-server", stop: nats.stop });
      natsUrl = nats.url;
      say(
        `NATS: nats-server ${nats.url}, monitoring ${nats.monitorUrl} (JetStream in ${config.ADPIPE_HOME}/nats)`,
      );
    } else say(`NATS: ${natsUrl}`);

    await migrateOltp(databaseUrl, logger);

    const common = {
      DATABASE_URL: databaseUrl,
      NATS_URL: natsUrl,
      ADPIPE_NAMESPACE: config.ADPIPE_NAMESPACE,
      LOG_LEVEL: config.LOG_LEVEL,
    };
    cleanups.push({ name: "services", stop: () => supervisor.stopAll() });
    await requireFreePort(config.GENERATOR_PORT, "the generator", "GENERATOR_PORT");
    const generator = await supervisor.start({
      name: "generator",
      port: config.GENERATOR_PORT,
      env: {
        ...common,
        SIMULATE: "true",
        SIMULATE_INTERVAL_SECONDS: String(config.SIMULATE_INTERVAL_SECONDS),
      },
    });

    const pool = createPool({ connectionString: databaseUrl, max: 1, logger });
    cleanups.push({ name: "status", stop: () => pool.end() });
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM campaign");
    if (!rows[0]?.n) {
      const res = await fetch(`${generator.url}/generate/batch`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ advertisers: 3, campaigns: 4, impressions: 2000, ctr: 0.05 }),
      });
      say(`PostgreSQL was empty: generated a first batch (${res.status})`);
    }

    say(`generator: ${generator.url} (simulation every ${config.SIMULATE_INTERVAL_SECONDS} s)`);
    say("running; Ctrl-C stops everything");
    const status = createStatus({ pool });
    const timer = setInterval(async () => {
      if (!shuttingDown) say(await status.line().catch((err) => `status unavailable: ${err.message}`));
    }, config.STATUS_INTERVAL_SECONDS * 1000);
    cleanups.push({ name: "status timer", stop: async () => clearInterval(timer) });
  } catch (err) {
    fail(err instanceof StartError || err instanceof Error ? err.message : String(err));
  }
}

await main();
