import { parseArgs } from "node:util";
import { bool, ConfigError, parseConfig, settings } from "@adpipe/shared/config";
import { allowedHostsSetting } from "@adpipe/shared/hosts";
import { createLogger } from "@adpipe/shared/logger";
import { onShutdown, runMain } from "@adpipe/shared/main";
import { z } from "zod";
import { BUN_RUNTIME_ARGS, runtimeLimitsApplied } from "./limits.ts";
import { EmbeddedSetupError, startEmbeddedServer } from "./server.ts";

const grant = z.object({
  privilege: z.enum([
    "ALL",
    "SELECT",
    "INSERT",
    "ALTER DELETE",
    "ALTER ADD COLUMN",
    "ALTER MODIFY COLUMN",
    "CREATE VIEW",
    "DROP VIEW",
  ]),
  database: z.string().min(1),
  table: z.string().min(1),
});
const usersSetting = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: "expected JSON" });
      return z.NEVER;
    }
  })
  .pipe(
    z.record(
      z.string().min(1),
      z.object({
        password: z.string(),
        grants: z.array(grant),
        readonly: z.union([z.literal(1), z.literal(2)]).optional(),
      }),
    ),
  )
  .optional();

const usage = `usage: clickhouse-embedded --data <dir> [--port 8123] [--host 127.0.0.1]
         [--user default] [--allowed-hosts name,...] [--allow-origin http://tool:port,...]
         [--insecure] [--parent-pid PID]
The owner's password comes from CLICKHOUSE_PASSWORD in the environment (or --password, which
\`ps\` shows); CLICKHOUSE_USER names the owner. Clients pass them as on any ClickHouse server
(basic auth, X-ClickHouse-User/-Key). --insecure (development only) lets the owner have no
password: anyone who reaches the port may then run any query.`;

const origins = z
  .string()
  .transform((text, ctx) => {
    const list = text
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    for (const origin of list) {
      try {
        const url = new URL(origin);
        if (
          (url.protocol === "http:" || url.protocol === "https:") &&
          url.origin === origin.replace(/\/$/, "")
        )
          continue;
      } catch {}
      ctx.addIssue({
        code: "custom",
        message: `${JSON.stringify(origin)} is not an origin (scheme://host[:port])`,
      });
      return z.NEVER;
    }
    return list;
  })
  .optional();

runMain(async () => {
  const { values } = parseArgs({
    options: {
      data: { type: "string" },
      port: { type: "string", default: "8123" },
      host: { type: "string", default: "127.0.0.1" },
      user: { type: "string" },
      password: { type: "string" },
      insecure: { type: "boolean" },
      "allowed-hosts": { type: "string" },
      "allow-origin": { type: "string" },
      "parent-pid": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help || !values.data) {
    process.stderr.write(`${usage}\n`);
    process.exit(values.help ? 0 : 2);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port: expected 0-65535, got ${values.port}`);
  // The owner's password comes from the environment (spawnEmbeddedClickHouse sets it) so `ps`
  // cannot show it; CLICKHOUSE_USER / CLICKHOUSE_PASSWORD are the names every ClickHouse tool uses.
  const env = parseConfig({
    CLICKHOUSE_USER: z.string().optional(),
    CLICKHOUSE_PASSWORD: z.string().optional(),
    CLICKHOUSE_EMBEDDED_PASSWORD: z.string().optional(),
    /** More users and their grants, as JSON (access.ts `EmbeddedUsers`): `bun start` sets it. */
    CLICKHOUSE_EMBEDDED_USERS: usersSetting,
    /** Development only: the owner may have no password (the same as --insecure). */
    CLICKHOUSE_EMBEDDED_INSECURE: bool.default(false),
    CLICKHOUSE_EMBEDDED_ALLOWED_HOSTS: allowedHostsSetting,
    CLICKHOUSE_EMBEDDED_ALLOWED_ORIGINS: origins,
    LOG_LEVEL: settings.LOG_LEVEL.default("warn"),
  });
  const flag = <T>(name: string, schema: z.ZodType<T>, value: string | undefined): T | undefined => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new ConfigError(name, parsed.error.issues[0]?.message ?? "is invalid");
    return parsed.data;
  };
  const allowedHosts =
    flag("--allowed-hosts", allowedHostsSetting, values["allowed-hosts"]) ??
    env.CLICKHOUSE_EMBEDDED_ALLOWED_HOSTS;
  const allowedOrigins =
    flag("--allow-origin", origins, values["allow-origin"]) ?? env.CLICKHOUSE_EMBEDDED_ALLOWED_ORIGINS;
  const insecure = values.insecure === true || env.CLICKHOUSE_EMBEDDED_INSECURE;
  const user = values.user ?? env.CLICKHOUSE_USER ?? "default";
  const password = values.password ?? env.CLICKHOUSE_EMBEDDED_PASSWORD ?? env.CLICKHOUSE_PASSWORD;
  const logger = createLogger("clickhouse-embedded", env.LOG_LEVEL);
  // Without the flag Bun answers URIs past 16 KiB with a bare 431 (limits.ts); spawn.ts and the
  // clickhouse:embedded script pass it. On stderr: stdout's first line is the listening line.
  if (!runtimeLimitsApplied())
    process.stderr.write(
      `clickhouse-embedded: started without ${BUN_RUNTIME_ARGS[0]}: URIs past 16 KiB will be refused (431, no message)\n`,
    );
  let server: ReturnType<typeof startEmbeddedServer>;
  try {
    server = startEmbeddedServer({
      dataDir: values.data,
      port,
      host: values.host,
      user,
      password,
      insecure,
      users: env.CLICKHOUSE_EMBEDDED_USERS,
      browser: { allowedHosts, allowedOrigins },
      logger,
    });
  } catch (err) {
    if (!(err instanceof EmbeddedSetupError)) throw err;
    process.stderr.write(`clickhouse-embedded: ${err.message}\n${usage}\n`);
    process.exit(2);
  }
  const open = insecure && !password;
  if (open)
    process.stderr.write(
      `clickhouse-embedded: INSECURE DEVELOPMENT MODE: the owner ${JSON.stringify(user)} has no password. Anyone who can reach ${server.url} can read and change every table and read this machine's files through file(). Never use it for data you care about.\n`,
    );
  // The one line a parent process (spawnEmbeddedClickHouse, `bun start`) waits for.
  process.stdout.write(
    `clickhouse-embedded listening on ${server.url} (ClickHouse ${server.version}, data ${values.data}${open ? "; INSECURE: no password" : `; owner ${user}, password required`})\n`,
  );
  onShutdown(() => server.stop());
  // Started by another process (tests, `bun start`): do not outlive it, even if it was killed.
  const parent = Number(values["parent-pid"]);
  if (parent > 0) {
    setInterval(() => {
      try {
        process.kill(parent, 0);
      } catch {
        process.kill(process.pid, "SIGTERM");
      }
    }, 1000).unref();
  }
});
