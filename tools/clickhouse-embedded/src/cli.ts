import { parseArgs } from "node:util";
import { parseConfig, settings } from "@adpipe/shared/config";
import { createLogger } from "@adpipe/shared/logger";
import { onShutdown, runMain } from "@adpipe/shared/main";
import { z } from "zod";
import { BUN_RUNTIME_ARGS, runtimeLimitsApplied } from "./limits.ts";
import { startEmbeddedServer } from "./server.ts";

const grant = z.object({
  privilege: z.enum(["ALL", "SELECT", "INSERT"]),
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

const usage =
  "usage: clickhouse-embedded --data <dir> [--port 8123] [--host 127.0.0.1] [--user default] [--password ''] [--parent-pid PID]";

runMain(async () => {
  const { values } = parseArgs({
    options: {
      data: { type: "string" },
      port: { type: "string", default: "8123" },
      host: { type: "string", default: "127.0.0.1" },
      user: { type: "string" },
      password: { type: "string" },
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
  // A password comes from the environment (spawnEmbeddedClickHouse sets it) so `ps` cannot show it.
  const env = parseConfig({
    CLICKHOUSE_EMBEDDED_PASSWORD: z.string().optional(),
    /** More users and their grants, as JSON (access.ts `EmbeddedUsers`): `bun start` sets it. */
    CLICKHOUSE_EMBEDDED_USERS: usersSetting,
    LOG_LEVEL: settings.LOG_LEVEL.default("warn"),
  });
  const logger = createLogger("clickhouse-embedded", env.LOG_LEVEL);
  // Without the flag Bun answers URIs past 16 KiB with a bare 431 (limits.ts); spawn.ts and the
  // clickhouse:embedded script pass it. On stderr: stdout's first line is the listening line.
  if (!runtimeLimitsApplied())
    process.stderr.write(
      `clickhouse-embedded: started without ${BUN_RUNTIME_ARGS[0]}: URIs past 16 KiB will be refused (431, no message)\n`,
    );
  const server = startEmbeddedServer({
    dataDir: values.data,
    port,
    host: values.host,
    user: values.user,
    password: values.password ?? env.CLICKHOUSE_EMBEDDED_PASSWORD,
    users: env.CLICKHOUSE_EMBEDDED_USERS,
    logger,
  });
  // The one line a parent process (spawnEmbeddedClickHouse, `bun start`) waits for.
  process.stdout.write(
    `clickhouse-embedded listening on ${server.url} (ClickHouse ${server.version}, data ${values.data})\n`,
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
