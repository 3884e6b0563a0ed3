// Guarded exactness (issue 11): the loader killed with SIGKILL between insert and announcement,
// many times under load, and the events stream deleted under load; in both, the entity tables and
// every KPI must equal PostgreSQL soon after the load stops. The loader runs as its own process
// (the real one, `services/loader/src/index.ts`); extractor and reporter run in this process.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createOperations, type Operations } from "@adpipe/generator";
import { streams } from "@adpipe/shared/contract";
import { ensureStreams } from "@adpipe/shared/nats";
import { ensureReporterConsumer } from "@adpipe/shared/nats-consumers";
import { listeningUrl, waitFor } from "@adpipe/shared/testing";
import { createPipelineWorld, type PipelineWorld } from "@adpipe/testing";
import { waitForTruth } from "@adpipe/testing/truth";

const LOADER = join(import.meta.dir, "..", "services", "loader", "src", "index.ts");

let w: PipelineWorld;
let ops: Operations;
let campaigns: number[] = [];

/** A loader process on this test's namespace and ClickHouse; `url` resolves once it listens. */
function spawnLoader(env: Record<string, string> = {}) {
  const proc = Bun.spawn(["bun", "run", LOADER], {
    env: {
      ...process.env,
      NATS_URL: process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222",
      ...w.chs.env(),
      ADPIPE_NAMESPACE: w.namespace,
      PORT: "0",
      LOG_LEVEL: "info",
      LOADER_FLUSH_MS: "50",
      LOADER_ACK_WAIT_MS: "2000",
      LOADER_MAX_BACKOFF_MS: "500",
      ...env,
    },
    stdout: "pipe",
    stderr: "inherit",
  });
  const url = listeningUrl(proc.stdout, "the loader");
  return Object.assign(proc, { url });
}

/** Writes to PostgreSQL until stopped: new impressions and clicks, bid changes, a few deletes. */
function startLoad() {
  let stopped = false;
  let operations = 0;
  let n = 0;
  const done = (async () => {
    while (!stopped) {
      const c = campaigns[n++ % campaigns.length] as number;
      const r = n % 7;
      if (r < 3) await ops.impressions(c, 5 + (n % 20));
      else if (r < 5) await ops.clicks(c, 0.05);
      else if (r === 5)
        await w.pool.query("UPDATE campaign SET bid = $1 WHERE id = $2", [
          (1 + (n % 300) / 100).toFixed(2),
          c,
        ]);
      else
        await w.pool.query(
          "DELETE FROM clicks WHERE id IN (SELECT id FROM clicks WHERE campaign_id = $1 ORDER BY id LIMIT 1)",
          [c],
        );
      operations++;
      await Bun.sleep(10);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      return operations;
    },
  };
}

beforeAll(async () => {
  w = await createPipelineWorld({ config: { REPORTER_HEAL_INTERVAL_MS: 1000 } });
  // The in-process loader makes way for loader processes.
  await w.loader.stop();
  ops = createOperations(w.pool);
  campaigns = (await ops.batch({ advertisers: 3, campaigns: 6, impressions: 300, ctr: 0.1 })).campaignIds;
});

afterAll(async () => {
  await w?.close();
});

describe("exactness under faults", () => {
  test("the loader killed with SIGKILL between insert and announcement, many times under load", async () => {
    const load = startLoad();
    let kills = 0;
    let current = spawnLoader({ ADPIPE_TEST_CRASH_AFTER_INSERT: "0.2" });
    const deadline = Date.now() + 120_000;
    while (kills < 8 && Date.now() < deadline) {
      const code = await Promise.race([current.exited, Bun.sleep(500).then(() => null)]);
      if (code === null) continue;
      expect(current.signalCode).toBe("SIGKILL");
      kills++;
      current = spawnLoader({ ADPIPE_TEST_CRASH_AFTER_INSERT: "0.2" });
    }
    current.kill("SIGKILL");
    await current.exited;
    const operations = await load.stop();
    // Usually 8; a loaded machine spawns loaders slowly.
    expect(kills).toBeGreaterThanOrEqual(5);

    const loader = spawnLoader();
    try {
      await loader.url;
      const ms = await waitForTruth({ ...w, clickhouse: w.chs.client }, 30_000);
      console.log(
        `exact: ${kills} loader SIGKILLs between insert and announcement, ${operations} writes: entity tables and every KPI equal PostgreSQL ${ms} ms after the load stopped and a loader restarted`,
      );
    } finally {
      loader.kill("SIGTERM");
      await loader.exited;
    }
  }, 240_000);

  test("loaded events lost and unpublishable under load: /ready says so, reports converge through the heal step", async () => {
    const loader = spawnLoader();
    const url = await loader.url;
    try {
      // Batches loaded and announced while no reporter listens; their events are then deleted.
      await w.reporter.stop();
      // Batches loaded from now on (not the previous test's last ones, reported before the stop).
      const since = (
        (await (
          await w.chs.client.query({ query: "SELECT toString(now64(3)) AS t", format: "JSONEachRow" })
        ).json()) as {
          t: string;
        }[]
      )[0]?.t;
      const load = startLoad();
      await waitFor(
        async () => {
          const rs = await w.chs.client.query({
            query:
              "SELECT count() AS n FROM loaded_batches WHERE loaded_at > toDateTime64({since:String}, 3, 'UTC')",
            query_params: { since },
            format: "JSONEachRow",
          });
          return Number(((await rs.json()) as { n: string }[])[0]?.n) > 3;
        },
        { what: "batches loaded while the reporter is away", timeoutMs: 30_000 },
      );
      await w.jsm.streams.delete(streams(w.namespace).events);
      // No events stream: every announcement fails, the batches stay unacked, /ready says why.
      await waitFor(
        async () => {
          const res = await fetch(`${url}/ready`);
          return res.status === 503 && (await res.text()).includes("announcements");
        },
        { what: "the loader's /ready naming the failed announcements", timeoutMs: 30_000 },
      );
      await ensureStreams(w.jsm, w.namespace);
      await ensureReporterConsumer(w.jsm, w.namespace, { ackWaitMs: 5000 });
      await w.restartReporter();
      await Bun.sleep(1000); // a little more load with the stream back
      const operations = await load.stop();
      const ms = await waitForTruth({ ...w, clickhouse: w.chs.client }, 60_000);
      // Later events' rebuilds may already have rewritten the same keys (so the reports are
      // exact), while the batches of the deleted events wait for the next heal tick.
      const status = await waitFor(
        async () => {
          const s = await w.reporter.status();
          const pending = Object.values(s.progress ?? {}).some((p) => (p?.unreported_batches ?? 0) > 0);
          return s.heals.batches > 0 && !pending && s;
        },
        { what: "the heal step reporting the batches of the deleted events", timeoutMs: 30_000 },
      );
      console.log(
        `exact: events stream deleted under load (${operations} writes): reports equal PostgreSQL ${ms} ms after the load stopped; heal rebuilt ${status.heals.batches} batches`,
      );
      // Only the heal step of the restarted reporter can have reported the batches whose events
      // were deleted with the stream.
      expect(status.heals.batches).toBeGreaterThan(0);
      expect((await fetch(`${url}/ready`)).status).toBe(200);
      const progress = status.progress ?? {};
      for (const p of Object.values(progress)) expect(p?.unreported_batches).toBe(0);
    } finally {
      loader.kill("SIGTERM");
      await loader.exited;
    }
  }, 150_000);
});
