import { serveDeadLetterReplay } from "@adpipe/shared/dead-letter-replay";
import { listen } from "@adpipe/shared/http";
import { createLogger, type Logger } from "@adpipe/shared/logger";
import { onShutdown, runMain } from "@adpipe/shared/main";
import { createRegistry, natsConnectionMetric } from "@adpipe/shared/metrics";
import { migrateOltp } from "@adpipe/shared/migrate";
import { connectNats, ensureStreams, natsConnected, pingNats } from "@adpipe/shared/nats";
import { requireStreams } from "@adpipe/shared/nats-provision";
import { createPool } from "@adpipe/shared/pg";
import { retryWithBackoff } from "@adpipe/shared/retry";
import { securityFrom } from "@adpipe/shared/security";
import { createApp } from "./app.ts";
import { type ExtractorConfig, loadConfig } from "./config.ts";
import { createExtractor } from "./extractor.ts";
import { startChangeListener } from "./listener.ts";
import { createExtractorMetrics } from "./metrics.ts";
import { serveExtractRun, servePauseRequests } from "./run-subject.ts";
import { serveVerifyRun } from "./verify/routes.ts";
import { startVerifier } from "./verify/start.ts";

/** Connects to NATS and provisions the streams (or, when a provisioning step owns them, waits for them). */
async function connectAndFindStreams(config: ExtractorConfig, logger: Logger) {
  const nc = await retryWithBackoff(
    "NATS connection",
    () =>
      connectNats({
        url: config.NATS_URL,
        name: "adpipe-extractor",
        logger,
        user: config.NATS_USER,
        pass: config.NATS_PASSWORD,
      }),
    { logger },
  );
  const jsm = await nc.jetstreamManager();
  if (config.NATS_PROVISION)
    await retryWithBackoff(
      "stream provisioning",
      () => ensureStreams(jsm, config.ADPIPE_NAMESPACE, { replicas: config.NATS_STREAM_REPLICAS }),
      { logger },
    );
  // A provisioning step owns the streams (bun start, compose): wait until they exist.
  else
    await retryWithBackoff("stream lookup", () => requireStreams(jsm, config.ADPIPE_NAMESPACE), { logger });
  return nc;
}

runMain(async () => {
  const config = loadConfig();
  const logger = createLogger("extractor", config.LOG_LEVEL);

  if (config.DATABASE_MIGRATE)
    await retryWithBackoff("PostgreSQL migration", () => migrateOltp(config.DATABASE_URL, logger), {
      logger,
    });
  // One client per table for a cycle (plus its snapshot workers), one for the pending-window
  // write, a few for HTTP and the verifier.
  const pool = createPool({
    connectionString: config.DATABASE_URL,
    max: 8 + 4 * config.EXTRACT_SNAPSHOT_WORKERS,
    applicationName: "adpipe-extractor",
    logger,
  });
  const nc = await connectAndFindStreams(config, logger);

  const registry = createRegistry("extractor");
  natsConnectionMetric(registry, natsConnected(nc));
  const extractor = createExtractor({
    pool,
    js: nc.jetstream(),
    maxPayload: nc.info?.max_payload ?? 1024 * 1024,
    config,
    logger,
    metrics: createExtractorMetrics(registry),
  });
  // A commit wakes the schedule up (the interval stays the fallback for a missed notification).
  const listener = config.EXTRACT_LISTEN
    ? startChangeListener({
        connectionString: config.DATABASE_URL,
        logger,
        maxBackoffMs: config.EXTRACT_MAX_BACKOFF_MS,
        onChange: () => extractor.nudge(),
      })
    : undefined;
  const subscription = serveExtractRun({ nc, namespace: config.ADPIPE_NAMESPACE, extractor, logger });
  const pauseSubscriptions = servePauseRequests({
    nc,
    namespace: config.ADPIPE_NAMESPACE,
    extractor,
    logger,
  });
  const verifier = startVerifier({ config, pool, nc, logger, registry });
  const verifySubscription = serveVerifyRun({
    nc,
    namespace: config.ADPIPE_NAMESPACE,
    handle: verifier.handle,
    logger,
  });
  const replaySubscription = serveDeadLetterReplay({ nc, namespace: config.ADPIPE_NAMESPACE, logger });
  const app = createApp({
    security: securityFrom(config),
    extractor,
    logger,
    checks: {
      postgres: () => pool.query("SELECT 1"),
      nats: () => pingNats(nc),
      open_transactions: () => extractor.blockerWarning(),
      // A paused table is an operator's decision: still ready, and the warning says since when.
      paused_tables: () => extractor.pausedWarning(),
      // Not listening only delays (the interval still runs): ready, with a warning.
      change_listener: async () =>
        listener && !listener.listening()
          ? { warning: "not listening for commits (LISTEN adpipe_changes); extracting on the interval only" }
          : undefined,
    },
    registry,
    verify: verifier.handle,
  });
  // POST /verify and POST /extract answer when their run finished, which can take longer than
  // Bun's default 10 s idle timeout on a large table: that would reset the caller's connection.
  const server = listen(config, app.fetch, { idleTimeout: 0 });
  extractor.start();
  // After a NATS outage, extract at once instead of sitting out the failure backoff.
  (async () => {
    for await (const s of nc.status()) if (s.type === "reconnect") extractor.wake();
  })().catch(() => {});
  logger.info("extractor started", {
    port: server.port,
    namespace: config.ADPIPE_NAMESPACE,
    listen: config.EXTRACT_LISTEN,
  });

  onShutdown(async (signal) => {
    logger.info("shutting down: finishing the running cycle", { signal });
    await server.stop();
    subscription.unsubscribe();
    for (const s of pauseSubscriptions) s.unsubscribe();
    verifySubscription.unsubscribe();
    await verifier.stop();
    await listener?.stop();
    replaySubscription.unsubscribe();
    await extractor.stop();
    await nc.drain();
    await pool.end();
    logger.info("stopped");
  });
});
