import { expect, test } from "bun:test";
import type { Logger } from "../config/logger.ts";
import { createNatsStatusLog } from "./nats-status.ts";

test("a NATS error is one warning with what to do, however often it repeats; reconnects stay info", () => {
  const lines: [string, string, Record<string, unknown>][] = [];
  const record =
    (level: string) =>
    (msg: string, fields: Record<string, unknown> = {}) =>
      lines.push([level, msg, fields]);
  const logger = {
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
    debug: record("debug"),
  };
  const log = createNatsStatusLog(logger as unknown as Logger);
  const violation = {
    type: "error",
    data: "PERMISSIONS_VIOLATION",
    permissionContext: { operation: "subscription", subject: "adpipe.reports.updated" },
  };
  for (let i = 0; i < 5; i++) log(violation);
  log({ type: "pingTimer", data: 1 });
  log({ type: "reconnect", data: "127.0.0.1:4222" });
  expect(lines.map(([level, msg]) => [level, msg])).toEqual([
    ["warn", "NATS refused an operation"],
    ["info", "NATS connection status"],
  ]);
  expect(lines[0]?.[2]).toMatchObject({ subject: "adpipe.reports.updated", operation: "subscription" });
  expect(String(lines[0]?.[2].todo)).toContain("nats-permissions.ts");
});
