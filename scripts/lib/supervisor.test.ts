import { expect, test } from "bun:test";
import { createServiceApp } from "@adpipe/shared/http";
import { createLogger } from "@adpipe/shared/logger";
import { formatLine, inheritedEnv } from "./supervisor.ts";

// Log forgery (issue 31): an unauthenticated request whose path carries a newline, a NUL and
// text shaped like another service's log line must stay one line, its control characters shown
// escaped, in the JSON log and in `bun start`'s pretty output alike.
test("a request path cannot forge a log line in the JSON logs or in bun start's output", async () => {
  const lines: string[] = [];
  const logger = createLogger("generator", "info", {}, (line) => lines.push(line));
  const app = createServiceApp({ service: "generator", logger, security: {} });
  const forged = "/x%0Agenerator|%2006:00:00%20info%20%20audit%20method=POST%00%1b[2J%E2%80%AE%C2%9B";
  const res = await app.request(forged, { method: "POST", body: "{}" });
  expect(res.status).toBe(401);

  const audit = lines.find((l) => l.includes('"msg":"audit"'));
  expect(audit).toBeDefined();
  const json = audit as string;
  // One JSON line, the route recorded as sent (decoded), nothing raw that a terminal would act on.
  expect(json).not.toMatch(/[\p{Cc}\u202e]/u);
  expect(JSON.parse(json).route).toBe("/x\ngenerator| 06:00:00 info  audit method=POST\0\x1b[2J\u202e\u009b");

  const shown = formatLine(json);
  expect(shown).not.toMatch(/[\p{Cc}\u202e]/u);
  expect(shown).toContain("route=/x\\ngenerator| 06:00:00 info  audit method=POST\\x00\\x1b[2J\\u202e\\x9b");
  // What `bun start` prints for this request is a single line.
  expect(shown.split("\n")).toHaveLength(1);
});

test("lines that are not JSON are escaped the same way", () => {
  expect(formatLine("plain\rtext\u0007 and \u2028 more")).toBe("plain\\rtext\\x07 and \\u2028 more");
  expect(formatLine("tab\there")).toBe("tab\\there");
});

test("a service inherits no URL or credential from the shell that ran bun start", () => {
  const shell = {
    PATH: "/usr/bin",
    HOME: "/root",
    DATABASE_URL: "postgres://postgres:secret@db/adpipe",
    NATS_URL: "nats://admin:secret@nats:4222",
    CLICKHOUSE_URL: "http://default:secret@ch:8123",
    NATS_USER: "admin",
    NATS_PASSWORD: "n",
    CLICKHOUSE_USER: "default",
    CLICKHOUSE_PASSWORD: "c",
    ADPIPE_API_TOKEN: "t",
    AWS_SECRET_ACCESS_KEY: "s",
    GITHUB_TOKEN: "g",
  };
  expect(inheritedEnv(shell)).toEqual({ PATH: "/usr/bin", HOME: "/root" });
});
