// What the failover test watches from outside the pipeline: which server leads each replicated
// stream and consumer (and when that changed), how far the rows have come in ClickHouse, and what
// each durable consumer has delivered and acknowledged. Polled on a connection of its own with
// short timeouts, so a dead server never hides an election from it.
import { createClickHouse } from "@adpipe/shared/clickhouse";
import { streams, TABLES } from "@adpipe/shared/contract";
import { connectNats } from "@adpipe/shared/nats";
import type { JetStreamManager, NatsConnection } from "nats";
import type { Stack } from "./stack.ts";

/** Every Raft group of a namespace a server's death can leave leaderless. */
export function raftGroups(namespace: string): { name: string; stream: string; consumer?: string }[] {
  const s = streams(namespace);
  return [
    { name: "delta stream", stream: s.delta },
    { name: "events stream", stream: s.events },
    ...TABLES.map((t) => ({ name: `${t} loader consumer`, stream: s.delta, consumer: s.loaderConsumer(t) })),
    { name: "reporter consumer", stream: s.events, consumer: s.reporterConsumer },
  ];
}

type Group = { name: string; stream: string; consumer?: string };

async function leaderOf(jsm: JetStreamManager, g: Group): Promise<string | undefined> {
  const info = g.consumer ? await jsm.consumers.info(g.stream, g.consumer) : await jsm.streams.info(g.stream);
  return info.cluster?.leader || undefined;
}

/** Leaders as they change: each group's current leader and when it was first seen. */
export async function watchLeaders(url: string, namespace: string) {
  const nc: NatsConnection = await connectNats({ url, timeoutMs: 2000 });
  const jsm = await nc.jetstreamManager({ timeout: 500 });
  const groups = raftGroups(namespace);
  const current = new Map<string, { leader: string; since: number }>();
  let running = true;
  const poll = (async () => {
    while (running) {
      await Promise.all(
        groups.map(async (g) => {
          const leader = await leaderOf(jsm, g).catch(() => undefined);
          if (leader && current.get(g.name)?.leader !== leader)
            current.set(g.name, { leader, since: Date.now() });
        }),
      );
      await Bun.sleep(100);
    }
  })();
  return {
    leader: (group: string) => current.get(group)?.leader,
    /** When every group led by `dead` at `killedAt` had a new leader: group name → time first seen. */
    elections(dead: string, ledBefore: Map<string, string>): Map<string, number | undefined> {
      const out = new Map<string, number | undefined>();
      for (const [group, leader] of ledBefore) {
        if (leader !== dead) continue;
        const now = current.get(group);
        out.set(group, now && now.leader !== dead ? now.since : undefined);
      }
      return out;
    },
    snapshot: () => new Map([...current].map(([g, c]) => [g, c.leader])),
    jsm,
    async stop() {
      running = false;
      await poll;
      await nc.close();
    },
  };
}

export type LeaderWatch = Awaited<ReturnType<typeof watchLeaders>>;

/** The newest impression id in ClickHouse, sampled every 100 ms, with the time of each change. */
export function sampleClickHouse(stack: Stack) {
  const ch = createClickHouse({
    url: stack.clickhouseUrl,
    ...stack.clickhouseLogin,
    database: stack.database,
  });
  const samples: { at: number; maxId: number }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const rows = await ch
        .query({ query: "SELECT max(id) AS m FROM impressions", format: "JSONEachRow" })
        .then((r) => r.json<{ m: string }>())
        .catch(() => undefined);
      const maxId = Number(rows?.[0]?.m ?? -1);
      if (maxId >= 0 && maxId !== samples.at(-1)?.maxId) samples.push({ at: Date.now(), maxId });
      await Bun.sleep(100);
    }
  })();
  return {
    /** When an impression newer than `id` first reached ClickHouse (after `after`), or undefined. */
    firstAbove: (id: number, after: number) => samples.find((s) => s.at >= after && s.maxId > id)?.at,
    async stop() {
      running = false;
      await loop;
      await ch.close();
    },
  };
}

/** Per durable consumer: the last stream sequence delivered and the acknowledgement floor. */
export async function consumerPositions(
  jsm: JetStreamManager,
  namespace: string,
): Promise<Map<string, { delivered: number; ackFloor: number }>> {
  const out = new Map<string, { delivered: number; ackFloor: number }>();
  for (const g of raftGroups(namespace)) {
    if (!g.consumer) continue;
    const info = await jsm.consumers.info(g.stream, g.consumer);
    out.set(g.name, { delivered: info.delivered.stream_seq, ackFloor: info.ack_floor.stream_seq });
  }
  return out;
}

/**
 * True once every consumer acknowledged everything it had delivered at `before`: whatever a killed
 * instance held has been redelivered to, and acknowledged by, a live one.
 */
export async function handedOver(
  jsm: JetStreamManager,
  namespace: string,
  before: Map<string, { delivered: number }>,
  only?: (group: string) => boolean,
): Promise<boolean> {
  const now = await consumerPositions(jsm, namespace);
  for (const [group, was] of before) {
    if (only && !only(group)) continue;
    if ((now.get(group)?.ackFloor ?? 0) < was.delivered) return false;
  }
  return true;
}

/** Seconds from `from` to `to`, one decimal; "never" when `to` is missing. */
export const secs = (to: number | undefined, from: number) =>
  to === undefined ? "never" : `${((to - from) / 1000).toFixed(1)} s`;
