import { z } from "zod";

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

/** The settings every adpipe service understands, with the same names everywhere. */
export const settings = {
  DATABASE_URL: url(["postgres:", "postgresql:"]).default("postgres://postgres@127.0.0.1:5432/adpipe"),
  NATS_URL: url(["nats:", "tls:", "ws:", "wss:"]).default("nats://127.0.0.1:4222"),
  /** This service's NATS user, where the server has per-service users (bun start, compose). */
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
  CLICKHOUSE_URL: url(["http:", "https:"]).default("http://127.0.0.1:8123"),
  CLICKHOUSE_USER: z.string().default("default"),
  CLICKHOUSE_PASSWORD: z.string().default(""),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected a ClickHouse identifier")
    .default("adpipe"),
  ADPIPE_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, "expected letters, digits, '-' or '_' (it becomes a NATS subject token)")
    .default("adpipe"),
  PORT: z.coerce.number().int().min(0).max(65535),
  /** Address to listen on: loopback unless told otherwise (containers set 0.0.0.0). */
  HOST: z.string().min(1).default("127.0.0.1"),
  /** Bearer token every non-GET route requires; unset, the service refuses every non-GET call. */
  ADPIPE_API_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /** When set, read routes need it (or the API token) too; /health, /ready, /metrics stay open. */
  ADPIPE_READ_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
} as const;

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

export const bool = z
  .enum(["true", "false", "1", "0", "yes", "no", "on", "off"], {
    message: "expected true or false",
  })
  .transform((v) => ["true", "1", "yes", "on"].includes(v));

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
