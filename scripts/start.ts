// `bun start`: the whole pipeline on one machine. Whatever DATABASE_URL / NATS_URL /
// CLICKHOUSE_URL name is used as it is; what is not configured is started here with its state
// under ADPIPE_HOME (.adpipe/), reused by the next run. Ctrl-C stops everything this command
// started: the services first, then ClickHouse, NATS and PostgreSQL.
import { resolve } from "node:path";
import { createClickHouse } from "@adpipe/shared/clickhouse";
import { createLogger } from "@adpipe/shared/logger";
import { migrateOltp } from "@adpipe/shared/migrate";
import { createPool } from "@adpipe/shared/pg";
import { apiToken, privateFolder } from "./lib/api-token.ts";
import { migrateClickHouse, startOwnClickHouse } from "./lib/clickhouse.ts";
import { startEmbeddedPostgres } from "./lib/embedded-postgres.ts";
import {
  type clickhouseUsersConfig,
  isSuperuser,
  natsUsersConfig,
  postgresServiceUrls,
} from "./lib/least-privilege.ts";
import { findLeftovers, STARTED_BY, stopLeftovers } from "./lib/leftovers.ts";
import { provisionAs, startNatsServer } from "./lib/nats-server.ts";
import { requireFreePort, StartError } from "./lib/ports.ts";
import { portVariable, SERVICES, serviceEnv } from "./lib/services.ts";
import { loadStartConfig } from "./lib/start-config.ts";
import { createStatus } from "./lib/status.ts";
import { createStatusGate } from "./lib/status-gate.ts";
import { createSupervisor } from "./lib/supervisor.ts";

const hidePassword = (url: string) => url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");

async function main(): Promise<void> {
  const config = loadStartConfig();
  // Absolute: the servers run from other folders, and the leftover marker must match exactly.
  const home = resolve(config.ADPIPE_HOME);
  // Its own progress goes through `say`; the JSON lines of the helpers it calls only when asked.
  const logger = createLogger("start", config.LOG_LEVEL === "debug" ? "debug" : "warn");
  const say = (line: string) => process.stdout.write(`${"adpipe".padEnd(9)}| ${line}\n`);
  /** What start-up started, stopped in reverse order; `quiet` ones are not named when stopping. */
  const cleanups: { name: string; stop: () => Promise<void>; quiet?: boolean }[] = [];
  const aborted = new AbortController();
  let startup: Promise<void> = Promise.resolve();
  let failed = false;

  const shutdown = async (code: number) => {
    if (aborted.signal.aborted) return;
    aborted.abort();
    // Whatever start-up is doing finishes (or notices the abort) first, so nothing it starts is missed.
    await startup.catch(() => {});
    const stopped: string[] = [];
    for (const { name, stop, quiet } of cleanups.reverse()) {
      await stop().then(
        () => quiet || stopped.push(name),
        (err) => say(`stopping ${name} failed: ${err instanceof Error ? err.message : err}`),
      );
    }
    const what = stopped.length ? ` (in order: ${stopped.join(", ")})` : "";
    say(code === 0 ? `stopped${what}` : `stopped after an error${what}`);
    process.exit(code);
  };
  const fail = (message: string) => {
    if (failed || aborted.signal.aborted) return;
    failed = true;
    process.stderr.write(`adpipe: ${message}\n`);
    void shutdown(1);
  };
  /** Anything that ends on its own while the pipeline should run ends the pipeline. */
  const watch = (name: string, exited: Promise<number | null>) =>
    void exited.then((code) =>
      fail(`${name} stopped unexpectedly (exit code ${code}); stopping the pipeline`),
    );
  const step = () => {
    if (aborted.signal.aborted) throw new StartError("start-up interrupted");
  };
  // SIGHUP too: a closed terminal must not leave the servers and services (own process groups) behind.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void shutdown(0));

  const start = async () => {
    const supervisor = createSupervisor(
      (line) => process.stdout.write(`${line}\n`),
      (name, code) => fail(`${name} stopped unexpectedly (exit code ${code}); stopping the pipeline`),
    );

    // Owner-only: it holds every password, the token and the data (as root, the postgres user
    // is let through it, not into it: embedded-postgres.ts).
    privateFolder(home);
    // An earlier run on this state folder that was killed outright left its children running.
    const leftovers = findLeftovers(home);
    if (leftovers.length > 0) {
      say(`stopping ${leftovers.length} processes an earlier bun start on ${home} left running`);
      await stopLeftovers(leftovers);
    }
    process.env[STARTED_BY] = home;

    // Every port next: a taken one stops start-up before anything was started.
    if (!config.DATABASE_URL)
      await requireFreePort(config.ADPIPE_POSTGRES_PORT, "the embedded PostgreSQL", "ADPIPE_POSTGRES_PORT");
    if (!config.NATS_URL) {
      await requireFreePort(config.ADPIPE_NATS_PORT, "nats-server", "ADPIPE_NATS_PORT");
      await requireFreePort(
        config.ADPIPE_NATS_MONITOR_PORT,
        "nats-server monitoring",
        "ADPIPE_NATS_MONITOR_PORT",
      );
    }
    if (!config.CLICKHOUSE_URL)
      await requireFreePort(
        config.ADPIPE_CLICKHOUSE_PORT,
        "the embedded ClickHouse",
        "ADPIPE_CLICKHOUSE_PORT",
      );
    for (const s of SERVICES)
      await requireFreePort(
        config.servicePorts[portVariable(s)] ?? s.defaultPort,
        `the ${s.name}`,
        portVariable(s),
      );

    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      const pg = await startEmbeddedPostgres(home, config.ADPIPE_POSTGRES_PORT, logger);
      cleanups.push({ name: "PostgreSQL", stop: pg.stop });
      watch("the embedded PostgreSQL", pg.exited);
      databaseUrl = pg.url;
      // The password in full: the server is local, and a client of one's own needs it.
      const where = pg.dataDir.startsWith(home)
        ? pg.dataDir
        : `${pg.dataDir}: the postgres user cannot reach ${home}`;
      say(`PostgreSQL: embedded, ${pg.url} (data in ${where})`);
    } else say(`PostgreSQL: ${hidePassword(databaseUrl)}`);
    step();

    let natsUrl = config.NATS_URL;
    let natsMonitor: string | undefined;
    // Settings one service gets on top of the common ones: its own least-privilege credentials.
    const own: Record<string, Record<string, string>> = {};
    let natsAdmin: string | undefined;
    let provisioner: { user: string; pass: string } | undefined;
    if (!natsUrl) {
      const users = natsUsersConfig(home, config.ADPIPE_NAMESPACE);
      provisioner = users.provisioner;
      for (const [service, env] of Object.entries(users.env)) own[service] = { ...own[service], ...env };
      natsAdmin = users.adminPasswordFile;
      const nats = await startNatsServer(
        home,
        config.ADPIPE_NATS_PORT,
        config.ADPIPE_NATS_MONITOR_PORT,
        users.file,
      );
      cleanups.push({ name: "nats-server", stop: nats.stop });
      watch("nats-server", nats.exited);
      natsUrl = nats.url;
      natsMonitor = nats.monitorUrl;
      say(`NATS: nats-server ${nats.url}, monitoring ${nats.monitorUrl} (JetStream in ${home}/nats)`);
      say(
        nats.syncAlways
          ? `NATS: nats-server ${nats.version} writes every acknowledged message to disk (sync_interval: always)`
          : `NATS: nats-server ${nats.version} cannot fsync before acknowledging (sync_interval needs 2.10+): a power loss may lose recent deltas; the verifier repairs them`,
      );
    } else say(`NATS: ${hidePassword(natsUrl)}`);
    step();
    // On its own server, streams and consumers are made here, as the one user allowed to: the
    // services' users may use them, not change them (a configured NATS_URL: the services do it).
    if (provisioner)
      await provisionAs(natsUrl, provisioner, config.ADPIPE_NAMESPACE, {
        loaderAckWaitMs: config.LOADER_ACK_WAIT_MS,
        reporterAckWaitMs: config.REPORTER_ACK_WAIT_MS,
      });

    let clickhouseUrl = config.CLICKHOUSE_URL;
    // The embedded server gets a user per component (shared/src/clickhouse/olap-roles.ts) and an owner with
    // a password kept in `home`; a server of one's own (CLICKHOUSE_URL) is used with
    // CLICKHOUSE_USER for everything, as before.
    let clickhouseReader: ReturnType<typeof clickhouseUsersConfig>["reader"] | undefined;
    let clickhouseOwner = { user: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD };
    let ownerPasswordFile: string | undefined;
    if (!clickhouseUrl) {
      const ch = await startOwnClickHouse(
        home,
        config.ADPIPE_CLICKHOUSE_PORT,
        config.CLICKHOUSE_DATABASE,
        clickhouseOwner,
      );
      for (const [service, env] of Object.entries(ch.env)) own[service] = { ...own[service], ...env };
      ({ reader: clickhouseReader, owner: clickhouseOwner, ownerPasswordFile } = ch);
      cleanups.push({ name: "ClickHouse", stop: ch.stop });
      watch("the embedded ClickHouse", ch.exited);
      clickhouseUrl = ch.url;
      say(`ClickHouse: embedded, ${ch.url} (data in ${home}/clickhouse, log ${home}/clickhouse.log)`);
    } else say(`ClickHouse: ${hidePassword(clickhouseUrl)}`);
    step();

    const clickhouse = { url: clickhouseUrl, ...clickhouseOwner, database: config.CLICKHOUSE_DATABASE };
    await migrateOltp(databaseUrl, logger).catch((err) => {
      throw new StartError(`PostgreSQL migration failed: ${err instanceof Error ? err.message : err}`);
    });
    await migrateClickHouse(clickhouse, logger);
    // PostgreSQL only for the services that use it (the generator, the extractor), each as its
    // own least-privilege user; the loader and the reporter get no PostgreSQL URL at all.
    const pgUrls = config.DATABASE_URL
      ? { generator: databaseUrl, extractor: databaseUrl }
      : await postgresServiceUrls(home, databaseUrl);
    for (const [service, url] of Object.entries(pgUrls))
      own[service] = {
        ...own[service],
        DATABASE_URL: url,
        ...(config.DATABASE_URL ? {} : { DATABASE_MIGRATE: "false" }),
      };
    say("schemas up to date (PostgreSQL: drizzle migrations, ClickHouse: shared/clickhouse/*.sql)");
    step();

    const token = apiToken(home, config.ADPIPE_API_TOKEN);

    const pool = createPool({ connectionString: databaseUrl, max: 1, logger });
    // The status line only reads: the read-only user where there is one.
    const statusClient = createClickHouse({ ...clickhouse, ...clickhouseReader });
    cleanups.push({
      name: "status",
      stop: async () => void (await Promise.all([pool.end(), statusClient.close()])),
      quiet: true,
    });
    // Decided before any service runs: nothing can have written yet, so "empty" means empty.
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM campaign");
    const wasEmpty = !rows[0]?.n;
    if (config.DATABASE_URL && (await isSuperuser(pool)))
      say(
        "DATABASE_URL names a superuser, and the generator and the extractor run with it: give them least-privilege users (docs/security.md) for anything beyond a trial",
      );

    const envOf = serviceEnv({
      common: {
        ADPIPE_API_TOKEN: token.token,
        ...(config.ADPIPE_READ_TOKEN ? { ADPIPE_READ_TOKEN: config.ADPIPE_READ_TOKEN } : {}),
        ...(config.ADPIPE_ALLOWED_HOSTS
          ? { ADPIPE_ALLOWED_HOSTS: config.ADPIPE_ALLOWED_HOSTS.join(",") }
          : {}),
        LOG_LEVEL: config.LOG_LEVEL,
      },
      nats: { NATS_URL: natsUrl, ADPIPE_NAMESPACE: config.ADPIPE_NAMESPACE },
      clickhouse: {
        CLICKHOUSE_URL: clickhouse.url,
        CLICKHOUSE_DATABASE: clickhouse.database,
        // The owner's credentials only for a server of one's own; the embedded one's services get their own.
        ...(clickhouseReader
          ? {}
          : { CLICKHOUSE_USER: clickhouse.user, CLICKHOUSE_PASSWORD: clickhouse.password }),
      },
      own,
    });
    cleanups.push({ name: "services", stop: () => supervisor.stopAll() });
    const urls: Record<string, string> = {};
    for (const s of SERVICES) {
      const env = s.env?.({ simulateIntervalSeconds: config.SIMULATE_INTERVAL_SECONDS, urls }) ?? {};
      const port = config.servicePorts[portVariable(s)] ?? s.defaultPort;
      const service = await supervisor.start({ name: s.name, port, env: envOf(s, env) }, aborted.signal);
      urls[s.name] = service.url;
      step();
    }

    if (urls.generator) {
      const post = (path: string, body: unknown) =>
        fetch(`${urls.generator}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token.token}` },
          body: JSON.stringify(body),
        });
      if (wasEmpty) {
        const res = await post("/simulate/seed", { advertisers: 3, campaigns: 4 });
        if (!res.ok) throw new StartError(`the first batch failed: generator answered ${res.status}`);
        const batch = (await res.json()) as { campaign_ids: number[]; impressions: number; clicks: number };
        say(
          `PostgreSQL was empty: generated a first batch (${batch.campaign_ids.length} campaigns in flight, ${batch.impressions.toLocaleString("en")} impressions, ${batch.clicks.toLocaleString("en")} clicks)`,
        );
      }
      const res = await post("/simulate/start", { interval_seconds: config.SIMULATE_INTERVAL_SECONDS });
      if (!res.ok) throw new StartError(`starting the simulation failed: generator answered ${res.status}`);
    }

    for (const s of SERVICES) {
      const url = urls[s.name] as string;
      say(`${s.name}: ${url}${(s.tryIt ?? []).map((c) => `   ${c.replaceAll("{url}", url)}`).join("")}`);
    }
    say(
      token.file
        ? `control token (every POST needs it): export ADPIPE_API_TOKEN=$(cat ${token.file})`
        : "control token: the ADPIPE_API_TOKEN you set (every POST needs it)",
    );
    say(
      `e.g. curl -s -X POST -H "authorization: Bearer $ADPIPE_API_TOKEN" -H "content-type: application/json" -d '{}' ${urls.extractor ?? "http://127.0.0.1:3002"}/extract`,
    );
    say(`ClickHouse: ${clickhouse.url} (database ${clickhouse.database}; tables <table>_current)`);
    if (ownerPasswordFile)
      say(
        `ClickHouse owner (every right; migrations): ${clickhouse.user}, password in ${ownerPasswordFile}   curl -s -u "${clickhouse.user}:$(cat ${ownerPasswordFile})" '${clickhouse.url}/?query=SELECT+1'`,
      );
    if (clickhouseReader)
      say(
        `ClickHouse read-only user (Tabix, dashboards): ${clickhouseReader.user}, password in ${clickhouseReader.passwordFile}`,
      );
    if (natsMonitor)
      say(
        `NATS monitoring: ${natsMonitor}   nats sub '${config.ADPIPE_NAMESPACE}.>' --server ${natsUrl} --user admin --password "$(cat ${natsAdmin})"`,
      );
    say(`running (simulation every ${config.SIMULATE_INTERVAL_SECONDS} s); Ctrl-C stops everything`);

    const status = createStatus({
      pool,
      clickhouse: statusClient,
      database: clickhouse.database,
      extractorUrl: urls.extractor,
      loaderUrl: urls.loader,
    });
    // Read every STATUS_INTERVAL_SECONDS, printed when the figures change or after STATUS_IDLE_SECONDS.
    const gate = createStatusGate(config.STATUS_IDLE_SECONDS * 1000);
    const timer = setInterval(async () => {
      const line = await status.line();
      if (!aborted.signal.aborted && gate.shouldPrint(line)) say(line);
    }, config.STATUS_INTERVAL_SECONDS * 1000);
    cleanups.push({ name: "status timer", stop: async () => clearInterval(timer), quiet: true });
  };

  startup = start().catch((err) => {
    if (aborted.signal.aborted) return;
    fail(err instanceof Error ? err.message : String(err));
  });
  await startup;
}

await main();
