import type { ClickHouseClient } from "@clickhouse/client";
import type { JetStreamManager, NatsConnection } from "nats";
import type { Logger } from "../config/logger.ts";
import { retryWithBackoff } from "../config/retry.ts";
import { connectNats, ensureStreams } from "../nats/nats.ts";
import { requireStreams } from "../nats/nats-provision.ts";
import { connectMigratedClickHouse } from "./olap-migrate.ts";

/** What `olapServiceSettings` (shared/config) parses to: the settings this start-up reads. */
export interface OlapServiceConfig {
  NATS_URL: string;
  NATS_STREAM_REPLICAS: number;
  NATS_PROVISION: boolean;
  NATS_USER?: string;
  NATS_PASSWORD?: string;
  CLICKHOUSE_URL: string;
  CLICKHOUSE_USER: string;
  CLICKHOUSE_PASSWORD: string;
  CLICKHOUSE_DATABASE: string;
  CLICKHOUSE_CLUSTER?: string;
  CLICKHOUSE_MIGRATE: boolean;
  ADPIPE_NAMESPACE: string;
}

/**
 * The start-up of a service between NATS and ClickHouse (the loader, the reporter): ClickHouse
 * migrated (when CLICKHOUSE_MIGRATE) and connected, NATS connected, the namespace's streams
 * provisioned (NATS_PROVISION) or, where a provisioning step owns them, found. Each step is retried with backoff until its dependency answers, with a log line
 * naming the step, so services may start in any order.
 */
export async function connectOlapService(
  name: string,
  config: OlapServiceConfig,
  logger: Logger,
): Promise<{ clickhouse: ClickHouseClient; nc: NatsConnection; jsm: JetStreamManager }> {
  const clickhouse = await retryWithBackoff(
    config.CLICKHOUSE_MIGRATE ? "ClickHouse migration" : "ClickHouse connection",
    () =>
      connectMigratedClickHouse(
        {
          url: config.CLICKHOUSE_URL,
          user: config.CLICKHOUSE_USER,
          password: config.CLICKHOUSE_PASSWORD,
          cluster: config.CLICKHOUSE_CLUSTER,
          migrate: config.CLICKHOUSE_MIGRATE,
        },
        config.CLICKHOUSE_DATABASE,
        logger,
      ),
    { logger },
  );
  const nc = await retryWithBackoff(
    "NATS connection",
    () =>
      connectNats({
        url: config.NATS_URL,
        name: `adpipe-${name}`,
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
  else
    await retryWithBackoff("stream lookup", () => requireStreams(jsm, config.ADPIPE_NAMESPACE), { logger });
  return { clickhouse, nc, jsm };
}
