import { afterAll, beforeAll, expect, test } from "bun:test";
import { createOperations } from "@adpipe/generator";
import { createPipelineWorld, type PipelineWorld } from "@adpipe/reporter/testing";
import { compareEverything } from "@adpipe/reporter/truth";
import { streams } from "@adpipe/shared/contract";
import { type NatsCluster, startNatsCluster } from "@adpipe/shared/nats-cluster";
import { waitFor } from "@adpipe/shared/testing";

// The whole pipeline (extractor, loader, reporter, embedded ClickHouse) on a three-node NATS
// cluster with R3 streams. Under a steady write load, the server leading the delta stream is
// killed with SIGKILL and later restarted; afterwards ClickHouse and every KPI equal PostgreSQL.

let cluster: NatsCluster;
let w: PipelineWorld;

beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3, timeoutMs: 30_000 });
  w = await createPipelineWorld({ natsUrl: cluster.url, streamReplicas: 3 });
}, 120_000);

afterAll(async () => {
  await w?.close();
  await cluster?.stop();
});

/** The delta stream's leader, once the stream has one (none during an election). */
async function deltaLeader(): Promise<string> {
  return waitFor(async () => (await w.jsm.streams.info(streams(w.namespace).delta)).cluster?.leader, {
    what: "a delta stream leader",
    timeoutMs: 60_000,
    intervalMs: 200,
  });
}

test("SIGKILL of the delta stream's leader under load: no delta lost, every table and KPI exact", async () => {
  const ops = createOperations(w.pool);
  const seeded = await ops.batch({ advertisers: 3, campaigns: 6, impressions: 600, ctr: 0.1 });
  const ids = seeded.campaignIds;
  await w.idle();
  const info = await w.jsm.streams.info(streams(w.namespace).delta);
  expect(info.config.num_replicas).toBe(3);

  // Steady writes: impressions, clicks and a bid change every ~100 ms, until told to stop.
  let writing = true;
  let writes = 0;
  const load = (async () => {
    while (writing) {
      const c = ids[writes % ids.length] as number;
      await ops.impressions(c, 5);
      if (writes % 3 === 0) await ops.clicks(c, 0.2);
      if (writes % 10 === 0) await w.pool.query("UPDATE campaign SET bid = bid + 0.01 WHERE id = $1", [c]);
      writes++;
      await Bun.sleep(100);
    }
  })();

  // What reaches ClickHouse, sampled: the stall is the longest time it did not grow.
  let sampling = true;
  const progress: { at: number; rows: number }[] = [];
  const sampler = (async () => {
    while (sampling) {
      const rs = await w.chs.client
        .query({ query: "SELECT count() AS n FROM impressions", format: "JSONEachRow" })
        .then((r) => r.json<{ n: string }>())
        .catch(() => undefined);
      const rows = Number(rs?.[0]?.n ?? -1);
      if (rows >= 0 && rows !== progress.at(-1)?.rows) progress.push({ at: Date.now(), rows });
      await Bun.sleep(100);
    }
  })();
  const rowsNow = () => progress.at(-1)?.rows ?? 0;
  const grows = async (what: string, timeoutMs: number) => {
    const from = rowsNow();
    await waitFor(() => rowsNow() > from, { what, timeoutMs, intervalMs: 100 });
  };

  try {
    await grows("rows reaching ClickHouse before the kill", 60_000);
    await Bun.sleep(1000); // a second of steady flow before the fault
    const leader = await deltaLeader();
    const killedAt = Date.now();
    const rowsAtKill = rowsNow();
    await cluster.node(leader).kill("SIGKILL");

    // Two nodes left: a new leader, and rows keep arriving.
    const newLeader = await waitFor(
      async () => {
        const l = (await w.jsm.streams.info(streams(w.namespace).delta)).cluster?.leader;
        return l && l !== leader ? l : undefined;
      },
      { what: "a new delta stream leader", timeoutMs: 60_000, intervalMs: 200 },
    );
    await waitFor(() => rowsNow() > rowsAtKill, {
      what: "rows reaching ClickHouse after the kill",
      timeoutMs: 120_000,
      intervalMs: 100,
    });
    await grows("rows reaching ClickHouse with one node down", 60_000);

    await cluster.node(leader).start();
    const restartedAt = Date.now();
    await grows("rows reaching ClickHouse after the restart", 60_000);
    writing = false;
    await load;
    const loadStoppedAt = Date.now();

    // Everything written (the load has stopped) must arrive, exactly: the four tables row for
    // row and every KPI the reporter serves, against PostgreSQL.
    const truth = { pool: w.pool, get: w.get, clickhouse: w.chs.client, now: w.now };
    await waitFor(
      async () => {
        await w.idle();
        await compareEverything(truth);
        return true;
      },
      { what: "ClickHouse and the KPIs equal PostgreSQL", timeoutMs: 120_000, intervalMs: 1000 },
    );
    const convergedAt = Date.now();
    await compareEverything(truth);

    // The stall: the longest time no new row reached ClickHouse while the load ran after the kill.
    const window = progress.filter((p) => p.at >= killedAt - 1000 && p.at <= loadStoppedAt);
    let stall = { ms: 0, from: killedAt };
    for (let i = 1; i < window.length; i++) {
      const [a, b] = [window[i - 1] as { at: number }, window[i] as { at: number }];
      if (b.at - a.at > stall.ms) stall = { ms: b.at - a.at, from: a.at };
    }
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `cluster failover: SIGKILL of delta leader ${leader} (new leader ${newLeader}); pipeline stalled ${s(stall.ms)} (from ${s(stall.from - killedAt)} after the kill); node down ${s(restartedAt - killedAt)}; ${writes} write rounds; exact ${s(convergedAt - loadStoppedAt)} after the load stopped`,
    );
  } finally {
    writing = false;
    sampling = false;
    await load;
    await sampler;
  }
}, 600_000);
