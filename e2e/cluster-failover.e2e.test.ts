// The pipeline as real processes (embedded PostgreSQL and ClickHouse, extractor, two loaders,
// reporter, each with its default settings) on a three-node NATS cluster with R3 streams, under
// the fault suite's continuous writer. Three faults, each injected with SIGKILL while the writer
// writes: the server leading the delta stream, one of the two loaders, the reporter. Each test
// asserts that the pipeline is exact again (every table row for row and every campaign's KPIs
// against PostgreSQL) and prints how long each step took (docs/cluster.md#failover):
// - NATS: from the kill to the new leader of every Raft group the server led, to the first row
//   written after the kill visible in ClickHouse, and to exact;
// - loader / reporter: from the kill to the moment every delivery the dead process held was
//   acknowledged by a live one (handed over), and to exact.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createClickHouse } from "@adpipe/shared/clickhouse";
import { type NatsCluster, startNatsCluster } from "@adpipe/shared/nats-cluster";
import { waitFor } from "@adpipe/shared/testing";
import { waitForExact } from "./faults/exactness.ts";
import {
  consumerPositions,
  handedOver,
  type LeaderWatch,
  sampleClickHouse,
  secs,
  watchLeaders,
} from "./faults/failover.ts";
import { type Stack, startStack } from "./faults/stack.ts";
import { seed, startWriter } from "./faults/writer.ts";

let cluster: NatsCluster;
let stack: Stack;
let leaders: LeaderWatch;
let campaigns: number[];
const lines: string[] = [];
const print = (line: string) => {
  lines.push(line);
  console.log(`cluster failover: ${line}`);
};

beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3, timeoutMs: 30_000 });
  stack = await startStack({ natsUrl: cluster.url, streamReplicas: 3, secondLoader: true });
  leaders = await watchLeaders(cluster.url, stack.namespace);
  campaigns = await seed(stack.pool);
  const ready = await waitForExact(stack, 180_000);
  if (ready.ms === null) throw new Error(`not exact after seeding: ${ready.last?.sample.join("; ")}`);
}, 400_000);

afterAll(async () => {
  await leaders?.stop();
  await stack?.close();
  await cluster?.stop();
  if (lines.length > 0) console.log(`\n${lines.map((l) => `cluster failover: ${l}`).join("\n")}\n`);
});

/** The writer for one fault: started, and rows flowing into ClickHouse before the fault. */
async function underLoad(seedValue: number) {
  const writer = startWriter(stack.pool, campaigns, { seed: seedValue });
  await Bun.sleep(3000);
  return writer;
}

const newestImpression = async () =>
  Number(
    (await stack.pool.query<{ m: number }>("SELECT coalesce(max(id), 0) AS m FROM impressions")).rows[0]?.m,
  );

async function exactWithin(what: string, timeoutMs = 180_000) {
  const r = await waitForExact(stack, timeoutMs);
  expect({ what, exact: r.ms !== null, sample: r.last?.sample ?? [] }).toEqual({
    what,
    exact: true,
    sample: [],
  });
  print(`(${what}: the comparison that found it exact took ${((r.checkMs ?? 0) / 1000).toFixed(1)} s)`);
  return Date.now();
}

test("SIGKILL of the delta stream's leader under load: every Raft group re-elected, rows flow, exact", async () => {
  const writer = await underLoad(341);
  const sampler = sampleClickHouse(stack);
  try {
    const dead = await waitFor(() => leaders.leader("delta stream"), { what: "a delta stream leader" });
    const ledBefore = leaders.snapshot();
    const newestAtKill = await newestImpression();
    const killedAt = Date.now();
    await cluster.node(dead).kill("SIGKILL");

    const deltaElected = await waitFor(() => leaders.elections(dead, ledBefore).get("delta stream"), {
      what: "a new delta stream leader",
      timeoutMs: 60_000,
      intervalMs: 50,
    });
    const resumedAt = await waitFor(() => sampler.firstAbove(newestAtKill, killedAt), {
      what: "an impression written after the kill in ClickHouse",
      timeoutMs: 120_000,
      intervalMs: 50,
    });
    await writer.stop();
    const exactAt = await exactWithin("after the delta leader's SIGKILL");
    const elections = leaders.elections(dead, ledBefore);
    const lastElected = Math.max(...[...elections.values()].map((t) => t ?? 0));
    print(
      `SIGKILL of ${dead} (led ${[...elections.keys()].join(", ")}): delta stream leader elected after ${secs(deltaElected, killedAt)}, the last group after ${secs(lastElected, killedAt)}; rows written after the kill in ClickHouse after ${secs(resumedAt, killedAt)} (${secs(resumedAt, deltaElected)} after the delta election, ${secs(resumedAt, lastElected)} after the last); exact after ${secs(exactAt, killedAt)}; ${writer.stats.transactions} writes`,
    );
    await cluster.node(dead).start();
  } finally {
    await writer.stop();
    await sampler.stop();
  }
}, 600_000);

test("SIGKILL of one of two loaders under load: the other takes its deliveries over, exact", async () => {
  const writer = await underLoad(342);
  try {
    const before = await consumerPositions(leaders.jsm, stack.namespace);
    const killedAt = Date.now();
    await stack.pieces.loader.kill();
    const handedAt = await waitFor(
      async () =>
        (await handedOver(leaders.jsm, stack.namespace, before, (g) => g.includes("loader"))) && Date.now(),
      {
        what: "the killed loader's deliveries acknowledged by the other",
        timeoutMs: 120_000,
        intervalMs: 100,
      },
    );
    await writer.stop();
    const exactAt = await exactWithin("after a loader's SIGKILL");
    print(
      `SIGKILL of a loader: its deliveries acknowledged by the other loader after ${secs(handedAt, killedAt)}; exact after ${secs(exactAt, killedAt)}; ${writer.stats.transactions} writes`,
    );
    await stack.pieces.loader.start();
  } finally {
    await writer.stop();
  }
}, 600_000);

test("SIGKILL of the reporter under load, restarted at once: reports catch up, exact", async () => {
  const writer = await underLoad(343);
  const ch = createClickHouse({
    url: stack.clickhouseUrl,
    ...stack.clickhouseLogin,
    database: stack.database,
  });
  try {
    const before = await consumerPositions(leaders.jsm, stack.namespace);
    const killedAt = Date.now();
    await stack.pieces.reporter.kill();
    // An orchestrator restarts it (compose: restart policy); the time it takes is printed apart.
    await stack.pieces.reporter.start();
    const restartedAt = Date.now();
    // Every batch loaded before the kill is in a rebuild the new reporter made.
    const unreported = async () => {
      const rs = await ch.query({
        query: `SELECT count() AS n FROM loaded_batches
                WHERE loaded_at <= fromUnixTimestamp64Milli(toInt64(${killedAt}))
                  AND (table_name, batch_id) NOT IN (SELECT table_name, batch_id FROM reported_batches)`,
        format: "JSONEachRow",
      });
      return Number((await rs.json<{ n: string }>())[0]?.n);
    };
    const reportedAt = await waitFor(async () => (await unreported()) === 0 && Date.now(), {
      what: "every batch loaded before the kill reported",
      timeoutMs: 120_000,
      intervalMs: 100,
    });
    const handedAt = await waitFor(
      async () =>
        (await handedOver(leaders.jsm, stack.namespace, before, (g) => g.includes("reporter"))) && Date.now(),
      { what: "the killed reporter's events acknowledged", timeoutMs: 120_000, intervalMs: 100 },
    );
    await writer.stop();
    const exactAt = await exactWithin("after the reporter's SIGKILL");
    print(
      `SIGKILL of the reporter: restarted after ${secs(restartedAt, killedAt)}; every batch loaded before the kill reported after ${secs(reportedAt, killedAt)} (${secs(reportedAt, restartedAt)} after the restart); its events acknowledged after ${secs(handedAt, killedAt)}; exact after ${secs(exactAt, killedAt)}; ${writer.stats.transactions} writes`,
    );
  } finally {
    await writer.stop();
    await ch.close();
  }
}, 600_000);
