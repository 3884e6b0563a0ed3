import { streams } from "@adpipe/shared/contract";
import { listen } from "@adpipe/shared/http";
import { createLogger } from "@adpipe/shared/logger";
import { onShutdown, runMain } from "@adpipe/shared/main";
import { consumerStallMetrics, createRegistry, natsConnectionMetric } from "@adpipe/shared/metrics";
import { natsConnected } from "@adpipe/shared/nats";
import { ensureReporterConsumer, ensureReporterLease } from "@adpipe/shared/nats-consumers";
import { requireReporterConsumer } from "@adpipe/shared/nats-provision";
import { connectOlapService } from "@adpipe/shared/olap-service";
import { retryWithBackoff } from "@adpipe/shared/retry";
import { securityFrom } from "@adpipe/shared/security";
import type { Subscription } from "nats";
import { createApp } from "./app.ts";
import { loadConfig } from "./config.ts";
import { createKpis } from "./kpis.ts";
import { createReporterMetrics } from "./metrics.ts";
import { openLease } from "./open-lease.ts";
import { serveReportsRebuild } from "./rebuild-subject.ts";
import { createReporter } from "./reporter.ts";
import { loadQueries } from "./sql.ts";

runMain(async () => {
  const config = loadConfig();
  const logger = createLogger("reporter", config.LOG_LEVEL);
  const queries = loadQueries();
  const { clickhouse, nc, jsm } = await connectOlapService("reporter", config, logger);
  if (config.NATS_PROVISION) {
    await ensureReporterConsumer(jsm, config.ADPIPE_NAMESPACE, { ackWaitMs: config.REPORTER_ACK_WAIT_MS });
    await ensureReporterLease(jsm, config.ADPIPE_NAMESPACE, { replicas: config.NATS_STREAM_REPLICAS });
  }
  // Provisioned by another step (bun start, compose), whose ack wait holds: wait until it exists.
  else
    await retryWithBackoff("consumer lookup", () => requireReporterConsumer(jsm, config.ADPIPE_NAMESPACE), {
      logger,
    });

  const registry = createRegistry("reporter");
  natsConnectionMetric(registry, natsConnected(nc));
  const metrics = createReporterMetrics(
    registry,
    () => reporter.status(),
    () => lease?.active() ?? true,
  );
  const lease = config.REPORTER_LEASE
    ? await openLease({
        nc,
        config,
        logger,
        onActive: async (from) => {
          await reporter.activate({ healNow: from === "free" || from === "own" });
          serveRebuilds(true);
        },
        onStandby: async () => {
          serveRebuilds(false);
          await reporter.deactivate();
        },
      })
    : undefined;
  const reporter = createReporter({
    lease,
    js: nc.jetstream(),
    jsm,
    clickhouse,
    config,
    logger,
    queries,
    onRebuild: (r) => metrics.record(r),
    onReported: (events) => metrics.reported(events),
    maxPayload: nc.info?.max_payload,
    onStall: () => stalls.inc({ consumer: streams(config.ADPIPE_NAMESPACE).reporterConsumer }),
  });
  const stalls = consumerStallMetrics(registry, () => [
    {
      consumer: streams(config.ADPIPE_NAMESPACE).reporterConsumer,
      stalled: reporter.consumerHealth()?.stalledSince !== undefined,
    },
  ]);
  await reporter.start();
  // The verifier's `<ns>.reports.rebuild` requests go to the active reporter only.
  let rebuildSubscription: Subscription | undefined;
  const serveRebuilds = (on: boolean) => {
    rebuildSubscription?.unsubscribe();
    rebuildSubscription = on
      ? serveReportsRebuild({ nc, namespace: config.ADPIPE_NAMESPACE, reporter, logger })
      : undefined;
  };
  if (lease) await lease.start();
  else serveRebuilds(true);
  const app = createApp({
    security: securityFrom(config),
    reporter,
    kpis: createKpis(clickhouse, queries),
    nc,
    clickhouse,
    logger,
    registry,
    dashboard: {
      namespace: config.ADPIPE_NAMESPACE,
      queries,
      upstreams: {
        generator: config.GENERATOR_URL,
        extractor: config.EXTRACTOR_URL,
        loader: config.LOADER_URL,
      },
      timeoutMs: config.DASHBOARD_UPSTREAM_TIMEOUT_MS,
    },
  });
  // POST /reports/rebuild answers when the rebuild finished (seconds to minutes on a large
  // history): no idle timeout, which would reset the caller's connection after Bun's default 10 s.
  const server = listen(config, app.fetch, { idleTimeout: 0 });
  logger.info("listening", { url: `http://${config.HOST}:${server.port}` });

  onShutdown(async (signal) => {
    logger.info("stopping: finishing the rebuild in progress", { signal });
    serveRebuilds(false);
    // Released at once (a standby takes over now), after the rebuild in progress finished.
    if (lease) await lease.stop();
    await reporter.stop();
    await server.stop();
    await nc.drain();
    await clickhouse.close();
  });
});
