import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase, waitFor } from "@adpipe/shared/testing";

const ENTRY = join(import.meta.dir, "index.ts");
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  await db.drop();
});

test("a bad setting stops start-up with one line naming the variable", async () => {
  const proc = Bun.spawn(["bun", "run", ENTRY], {
    env: { ...process.env, DATABASE_URL: db.url, SIMULATE_INTERVAL_SECONDS: "0.1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  expect(code).toBe(1);
  expect(stderr.trim()).toBe("invalid setting SIMULATE_INTERVAL_SECONDS: must be at least 1");
});

test("starts with `bun run start`, migrates, serves /ready, and stops on SIGTERM", async () => {
  const proc = Bun.spawn(["bun", "run", ENTRY], {
    env: { ...process.env, DATABASE_URL: db.url, PORT: "0", LOG_LEVEL: "info" },
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = proc.stdout.getReader();
  let output = "";
  const url = await waitFor(
    async () => {
      const { value } = await reader.read();
      output += new TextDecoder().decode(value);
      return output.match(/"url":"(http:\/\/[^"]+)"/)?.[1];
    },
    { what: "the listening line" },
  );
  const ready = await fetch(`${url}/ready`);
  expect(ready.status).toBe(200);
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(0);
});
