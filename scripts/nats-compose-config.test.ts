import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { composeNatsConfig } from "./nats-compose-config.ts";

test("compose/nats-server.conf is the generated one (regenerate it after changing the permissions)", () => {
  const committed = readFileSync(join(import.meta.dir, "..", "compose", "nats-server.conf"), "utf8");
  expect(committed).toBe(composeNatsConfig());
});
