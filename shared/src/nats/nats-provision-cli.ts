// `bun run nats:provision`: creates or updates the namespace's streams and durable consumers as
// the provisioning user, before the services start (compose's `migrate` step). The services
// then run with NATS_PROVISION=false and NATS users that cannot manage streams or consumers.
import { milliseconds, parseConfig, settings } from "../config/config.ts";
import { createLogger } from "../config/logger.ts";
import { runMain } from "../config/main.ts";
import { retryWithBackoff } from "../config/retry.ts";
import { connectNats } from "./nats.ts";
import {
  DEFAULT_LOADER_ACK_WAIT_MS,
  DEFAULT_REPORTER_ACK_WAIT_MS,
  provisionNamespace,
} from "./nats-provision.ts";

runMain(async () => {
  const config = parseConfig({
    NATS_URL: settings.NATS_URL,
    NATS_USER: settings.NATS_USER,
    NATS_PASSWORD: settings.NATS_PASSWORD,
    NATS_STREAM_REPLICAS: settings.NATS_STREAM_REPLICAS,
    ADPIPE_NAMESPACE: settings.ADPIPE_NAMESPACE,
    LOADER_ACK_WAIT_MS: milliseconds(1000, 3_600_000, DEFAULT_LOADER_ACK_WAIT_MS),
    REPORTER_ACK_WAIT_MS: milliseconds(1000, 3_600_000, DEFAULT_REPORTER_ACK_WAIT_MS),
    LOG_LEVEL: settings.LOG_LEVEL,
  });
  const logger = createLogger("nats-provision", config.LOG_LEVEL);
  const nc = await retryWithBackoff(
    "NATS connection",
    () =>
      connectNats({
        url: config.NATS_URL,
        name: "adpipe-provision",
        logger,
        user: config.NATS_USER,
        pass: config.NATS_PASSWORD,
      }),
    { logger },
  );
  try {
    await provisionNamespace(await nc.jetstreamManager(), config.ADPIPE_NAMESPACE, {
      replicas: config.NATS_STREAM_REPLICAS,
      loaderAckWaitMs: config.LOADER_ACK_WAIT_MS,
      reporterAckWaitMs: config.REPORTER_ACK_WAIT_MS,
    });
    logger.info("streams and consumers provisioned", { namespace: config.ADPIPE_NAMESPACE });
  } finally {
    await nc.close();
  }
});
