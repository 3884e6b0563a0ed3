import { listen } from "@adpipe/shared/http";
import { createLogger } from "@adpipe/shared/logger";
import { onShutdown, runMain } from "@adpipe/shared/main";
import { createRegistry, natsConnectionMetric } from "@adpipe/shared/metrics";
import { natsConnected } from "@adpipe/shared/nats";
import { ensureLoaderConsumers } from "@adpipe/shared/nats-consumers";
import { requireLoaderConsumers } from "@adpipe/shared/nats-provision";
import { connectOlapService } from "@adpipe/shared/olap-service";
import { retryWithBackoff } from "@adpipe/shared/retry";
import { securityFrom } from "@adpipe/shared/security";
import { createApp } from "./app.ts";
import { loadConfig } from "./config.ts";
import { createLoader } from "./loader.ts";

runMain(async () => {
  const config = loadConfig();
  const logger = createLogger("loader", config.LOG_LEVEL);
  const { clickhouse, nc, jsm } = await connectOlapService("loader", config, logger);
  if (config.NATS_PROVISION)
    await ensureLoaderConsumers(jsm, config.ADPIPE_NAMESPACE, { ackWaitMs: config.LOADER_ACK_WAIT_MS });
  // Provisioned by another step (bun start, compose), whose ack wait holds: wait until they exist.
  else
    await retryWithBackoff("consumer lookup", () => requireLoaderConsumers(jsm, config.ADPIPE_NAMESPACE), {
      logger,
    });

  // Fault injection for the crash test: die between a confirmed insert and its announcement.
  const crash = config.ADPIPE_TEST_CRASH_AFTER_INSERT;
  const registry = createRegistry("loader");
  natsConnectionMetric(registry, natsConnected(nc));
  const loader = createLoader({
    js: nc.jetstream(),
    jsm,
    clickhouse,
    config,
    logger,
    registry,
    maxPayload: nc.info?.max_payload,
    publish: (subject, data) => nc.publish(subject, data),
    afterInsert:
      crash > 0
        ? () => {
            if (Math.random() < crash) process.kill(process.pid, "SIGKILL");
          }
        : undefined,
  });
  const app = createApp({ security: securityFrom(config), loader, nc, clickhouse, logger, registry });
  // Listening first: an address that cannot be had stops start-up before any batch is taken.
  const server = listen(config, app.fetch);
  await loader.start();
  logger.info("listening", { url: `http://${config.HOST}:${server.port}` });

  onShutdown(async (signal) => {
    logger.info("stopping: finishing in-flight batches", { signal });
    await loader.stop();
    await server.stop();
    await nc.drain();
    await clickhouse.close();
  });
});
