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

test("an address that cannot be listened on stops start-up with one line naming the variable", async () => {
  // A port somebody holds, then an address that is not this machine's (TEST-NET-3, RFC 5737).
  const holder = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  try {
    for (const [env, line] of [
      [
        { PORT: String(holder.port) },
        `invalid setting PORT: 127.0.0.1:${holder.port} is already in use; stop what listens there or choose another port`,
      ],
      [
        { HOST: "203.0.113.7", PORT: "0" },
        "invalid setting HOST: 203.0.113.7 is not an address of this machine",
      ],
    ] as const) {
      const proc = Bun.spawn(["bun", "run", ENTRY], {
        env: { ...process.env, DATABASE_URL: db.url, ...env },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(line);
    }
  } finally {
    await holder.stop(true);
  }
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
