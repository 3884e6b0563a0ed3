import { join } from "node:path";
import { milliseconds, parseConfig, settings } from "@adpipe/shared/config";
import { DEFAULT_LOADER_ACK_WAIT_MS, DEFAULT_REPORTER_ACK_WAIT_MS } from "@adpipe/shared/nats-provision";
import { z } from "zod";
import { portVariable, SERVICES } from "./services.ts";

// `bun start`'s settings, parsed once; a bad one stops it with one line naming the variable.
const port = (fallback: number) => settings.PORT.default(fallback);

export function loadStartConfig() {
  const config = parseConfig({
    ADPIPE_HOME: z.string().default(join(import.meta.dir, "..", "..", ".adpipe")),
    DATABASE_URL: settings.DATABASE_URL.unwrap().optional(),
    NATS_URL: settings.NATS_URL.unwrap().optional(),
    CLICKHOUSE_URL: settings.CLICKHOUSE_URL.unwrap().optional(),
    CLICKHOUSE_USER: settings.CLICKHOUSE_USER,
    CLICKHOUSE_PASSWORD: settings.CLICKHOUSE_PASSWORD,
    CLICKHOUSE_DATABASE: settings.CLICKHOUSE_DATABASE,
    ADPIPE_NAMESPACE: settings.ADPIPE_NAMESPACE,
    ADPIPE_POSTGRES_PORT: port(54329),
    ADPIPE_NATS_PORT: port(42229),
    ADPIPE_NATS_MONITOR_PORT: port(8229),
    ADPIPE_CLICKHOUSE_PORT: port(18123),
    SIMULATE_INTERVAL_SECONDS: z.coerce.number().min(1).default(5),
    STATUS_INTERVAL_SECONDS: z.coerce.number().min(0.5).default(5),
    /** Without new figures, the status line is repeated only this often (it says the pipeline is alive). */
    STATUS_IDLE_SECONDS: z.coerce.number().min(1).default(30),
    LOG_LEVEL: settings.LOG_LEVEL,
    ADPIPE_API_TOKEN: settings.ADPIPE_API_TOKEN,
    ADPIPE_READ_TOKEN: settings.ADPIPE_READ_TOKEN,
    /** Host names the services answer to besides loopback (each service's own setting). */
    ADPIPE_ALLOWED_HOSTS: settings.ADPIPE_ALLOWED_HOSTS,
    /** The ack waits `bun start` provisions the consumers with (the loader's and reporter's settings). */
    LOADER_ACK_WAIT_MS: milliseconds(1000, 3_600_000, DEFAULT_LOADER_ACK_WAIT_MS),
    REPORTER_ACK_WAIT_MS: milliseconds(1000, 3_600_000, DEFAULT_REPORTER_ACK_WAIT_MS),
  });
  const servicePorts = parseConfig(
    Object.fromEntries(SERVICES.map((s) => [portVariable(s), port(s.defaultPort)])),
  ) as Readonly<Record<string, number>>;
  return { ...config, servicePorts };
}
