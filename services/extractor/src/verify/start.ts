import { createClickHouse } from "@adpipe/shared/clickhouse";
import type { Logger } from "@adpipe/shared/logger";
import type { Registry } from "@adpipe/shared/metrics";
import type { Pool } from "@adpipe/shared/pg";
import type { NatsConnection } from "nats";
import type { ExtractorConfig } from "../config.ts";
import { HEADER_ROOM } from "../extractor.ts";
import { createVerifyMetrics } from "./metrics.ts";
import type { VerifyHandle } from "./routes.ts";
import { createVerifier, disabledStatus } from "./verifier.ts";

/**
 * The verifier role of an extractor process: on when CLICKHOUSE_URL is set, else a status that
 * says why it is off. Returns the handle for the routes and what to stop on shutdown.
 */
export function startVerifier({
  config,
  pool,
  nc,
  logger,
  registry,
}: {
  config: ExtractorConfig;
  pool: Pool;
  nc: NatsConnection;
  logger: Logger;
  registry: Registry;
}): { handle: VerifyHandle; stop: () => Promise<void> } {
  if (!config.CLICKHOUSE_URL) {
    const reason = "verification is off: CLICKHOUSE_URL is not set for the extractor";
    logger.info(reason);
    return { handle: { disabled: disabledStatus(reason) }, stop: async () => {} };
  }
  const clickhouse = createClickHouse({
    url: config.CLICKHOUSE_URL,
    user: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database: config.CLICKHOUSE_DATABASE,
  });
  const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
  const verifier = createVerifier({
    pool,
    clickhouse,
    nc,
    js: nc.jetstream(),
    config: {
      namespace: config.ADPIPE_NAMESPACE,
      intervalMs: config.VERIFY_INTERVAL_MS,
      chunkIds: config.VERIFY_CHUNK_IDS,
      leafIds: config.VERIFY_LEAF_IDS,
      concurrency: config.VERIFY_CONCURRENCY,
      settleMs: config.VERIFY_SETTLE_MS,
      fullEvery: config.VERIFY_FULL_EVERY,
      limits: {
        maxBytes: Math.min(
          config.EXTRACT_MAX_BATCH_BYTES || Number.POSITIVE_INFINITY,
          maxPayload - HEADER_ROOM,
        ),
        maxRows: config.EXTRACT_MAX_BATCH_ROWS,
      },
      maxInFlight: config.EXTRACT_MAX_IN_FLIGHT,
    },
    logger: logger.child({ role: "verifier" }),
    metrics: createVerifyMetrics(registry, config.VERIFY_INTERVAL_MS),
  });
  verifier.start();
  logger.info("verifier started", {
    intervalMs: config.VERIFY_INTERVAL_MS,
    chunkIds: config.VERIFY_CHUNK_IDS,
    concurrency: config.VERIFY_CONCURRENCY,
    fullEvery: config.VERIFY_FULL_EVERY,
    database: config.CLICKHOUSE_DATABASE,
  });
  return {
    handle: verifier,
    stop: async () => {
      await verifier.stop();
      await clickhouse.close();
    },
  };
}
