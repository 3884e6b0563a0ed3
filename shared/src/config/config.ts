import { z } from "zod";
import { allowedHostsSetting } from "../http/hosts.ts";

/** A setting that cannot be used. Its message is the one line start-up prints before exiting. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`invalid setting ${variable}: ${reason}`);
  }
}

const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `expected a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}` },
  );

/**
 * One URL, or several separated by commas: the servers of one NATS cluster. The client connects
 * to any of them and fails over to the others (and to those the cluster gossips) on its own.
 */
const urlList = (protocols: string[]) => {
  const one = url(protocols);
  return z.string().superRefine((value, ctx) => {
    const parts = value.split(",").map((s) => s.trim());
    for (const part of parts) {
      const result = one.safeParse(part);
      if (!result.success) {
        ctx.addIssue({
          code: "custom",
          message: `${JSON.stringify(part)}: ${result.error.issues[0]?.message ?? "is invalid"} (several URLs: separate them with commas)`,
        });
        return;
      }
    }
  });
};

export const bool = z
  .enum(["true", "false", "1", "0", "yes", "no", "on", "off"], {
    message: "expected true or false",
  })
  .transform((v) => ["true", "1", "yes", "on"].includes(v));

/** A duration setting in seconds. */
export const seconds = (min: number, max: number) =>
  z.coerce
    .number({ message: "expected a number of seconds" })
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);
/** A duration setting in whole milliseconds, with a default. */
export const milliseconds = (min: number, max: number, fallback: number) =>
  z.coerce
    .number({ message: "expected milliseconds" })
    .int("expected whole milliseconds")
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`)
    .default(fallback);

/** The settings every adpipe service understands, with the same names everywhere. */
export const settings = {
  DATABASE_URL: url(["postgres:", "postgresql:"]).default("postgres://postgres@127.0.0.1:5432/adpipe"),
  NATS_URL: urlList(["nats:", "tls:", "ws:", "wss:"]).default("nats://127.0.0.1:4222"),
  /** Copies JetStream keeps of each stream: 1 on one server, 3 (or 5) on a cluster of that size. */
  NATS_STREAM_REPLICAS: z.coerce
    .number({ message: "expected a number of replicas" })
    .int("expected a whole number of replicas")
    .min(1, "must be at least 1")
    .max(5, "must be at most 5 (JetStream's limit)")
    .default(1),
  /**
   * Create or update the namespace's streams (and the service's durable consumers) at start.
   * False where a provisioning step did it first (`bun start`, compose's `migrate`): the
   * service's NATS user then may not manage them, and the service only looks them up, waiting
   * until they exist.
   */
  NATS_PROVISION: bool.default(true),
  /** This service's NATS user, where the server has per-service users (bun start, compose). */
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
  CLICKHOUSE_URL: url(["http:", "https:"]).default("http://127.0.0.1:8123"),
  CLICKHOUSE_USER: z.string().default("default"),
  CLICKHOUSE_PASSWORD: z.string().default(""),
  /**
   * Apply the ClickHouse migrations at start. They need the owner's rights: `bun start` and
   * compose migrate as the owner first and set it to false for services with least privilege.
   */
  CLICKHOUSE_MIGRATE: bool.default(true),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected a ClickHouse identifier")
    .default("adpipe"),
  /** A cluster in the ClickHouse servers' configuration: the schema is created ON CLUSTER, replicated. */
  CLICKHOUSE_CLUSTER: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, "expected a cluster name from the servers' remote_servers")
    .optional(),
  ADPIPE_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, "expected letters, digits, '-' or '_' (it becomes a NATS subject token)")
    .default("adpipe"),
  PORT: z.coerce.number().int().min(0).max(65535),
  /** Address to listen on: loopback unless told otherwise (containers set 0.0.0.0). */
  HOST: z.string().min(1).default("127.0.0.1"),
  /**
   * Host names the service answers to besides loopback and HOST (comma-separated): any other
   * Host header is refused (421), so a page under a name of its own cannot reach the service
   * through DNS rebinding. Compose lists the service's container name.
   */
  ADPIPE_ALLOWED_HOSTS: allowedHostsSetting,
  /** Bearer token every non-GET route requires; unset, the service refuses every non-GET call. */
  ADPIPE_API_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /** When set, read routes need it (or the API token) too; /health, /ready, /metrics stay open. */
  ADPIPE_READ_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
} as const;

/** The settings of a service that reads NATS and writes ClickHouse (the loader, the reporter). */
export const olapServiceSettings = {
  NATS_URL: settings.NATS_URL,
  NATS_STREAM_REPLICAS: settings.NATS_STREAM_REPLICAS,
  NATS_PROVISION: settings.NATS_PROVISION,
  NATS_USER: settings.NATS_USER,
  NATS_PASSWORD: settings.NATS_PASSWORD,
  CLICKHOUSE_URL: settings.CLICKHOUSE_URL,
  CLICKHOUSE_USER: settings.CLICKHOUSE_USER,
  CLICKHOUSE_PASSWORD: settings.CLICKHOUSE_PASSWORD,
  CLICKHOUSE_DATABASE: settings.CLICKHOUSE_DATABASE,
  CLICKHOUSE_CLUSTER: settings.CLICKHOUSE_CLUSTER,
  CLICKHOUSE_MIGRATE: settings.CLICKHOUSE_MIGRATE,
  ADPIPE_NAMESPACE: settings.ADPIPE_NAMESPACE,
  HOST: settings.HOST,
  ADPIPE_ALLOWED_HOSTS: settings.ADPIPE_ALLOWED_HOSTS,
  ADPIPE_API_TOKEN: settings.ADPIPE_API_TOKEN,
  ADPIPE_READ_TOKEN: settings.ADPIPE_READ_TOKEN,
  LOG_LEVEL: settings.LOG_LEVEL,
  /**
   * A durable consumer that receives nothing for this long while the server holds deliveries for
   * it is stalled: its pull is recreated, the recovery logged and counted, and /ready names it
   * until deliveries flow again.
   */
  ADPIPE_CONSUMER_STALL_MS: milliseconds(500, 600_000, 10_000),
};

/**
 * Parses `env` against `shape` once. The first bad variable becomes a ConfigError naming it;
 * the result is frozen so nothing can change configuration after start-up.
 */
export function parseConfig<S extends z.ZodRawShape>(
  shape: S,
  env: Record<string, string | undefined> = process.env,
): Readonly<z.infer<z.ZodObject<S>>> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(shape)) {
    const value = env[key];
    input[key] = value === "" ? undefined : value;
  }
  const result = z.object(shape).safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const variable = String(issue?.path[0] ?? "?");
    const reason = input[variable] === undefined ? "is required" : (issue?.message ?? "is invalid");
    throw new ConfigError(variable, reason);
  }
  return Object.freeze(result.data);
}
