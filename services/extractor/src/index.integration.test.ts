import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { connectNats, deleteStreams } from "@adpipe/shared/nats";
import { createTestDatabase, freePort, type TestDatabase, uniqueName, waitFor } from "@adpipe/shared/testing";
import pg from "pg";
import { natsUrl, readDeltas } from "./test-support.ts";

let db: TestDatabase | undefined;
const namespace = uniqueName("exmain");

afterAll(async () => {
  const nc = await connectNats({ url: natsUrl });
  await deleteStreams(await nc.jetstreamManager(), namespace);
  await nc.close();
  await db?.drop();
});

test("the service migrates, provisions, extracts on its schedule and stops cleanly on SIGTERM", async () => {
  db = await createTestDatabase({ migrate: false });
  const port = await freePort();
  const proc = Bun.spawn(["bun", join(import.meta.dir, "index.ts")], {
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      NATS_URL: natsUrl,
      ADPIPE_NAMESPACE: namespace,
      PORT: String(port),
      EXTRACT_INTERVAL_MS: "100",
      LOG_LEVEL: "warn",
    },
    stdout: "ignore",
    stderr: "pipe",
  });
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200, {
      what: "/ready",
      timeoutMs: 60_000,
    }).catch(async (err) => {
      // Say why: the process's own last words (it may have exited, e.g. on a taken port).
      proc.kill("SIGKILL");
      const stderr = await new Response(proc.stderr).text();
      throw new Error(`${err.message}; exit ${await proc.exited}; stderr: ${stderr.slice(-2000)}`);
    });
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query("INSERT INTO advertiser (name) VALUES ('scheduled')");
    await client.end();
    const nc = await connectNats({ url: natsUrl });
    try {
      const deltas = await waitFor(
        async () => {
          const all = await readDeltas(nc, namespace);
          return all.some((d) => d.table === "advertiser") && all;
        },
        { what: "the scheduled cycle to publish the advertiser" },
      );
      expect(deltas[0]?.rows[0]?.name).toBe("scheduled");
    } finally {
      await nc.close();
    }
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  } finally {
    proc.kill("SIGKILL");
  }
});
