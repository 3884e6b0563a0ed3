import { expect, test } from "bun:test";
import { Readable } from "node:stream";
import { UPSERT_COLUMNS } from "@adpipe/shared/contract";
import { fakeDeliveries, fakeMsg } from "@adpipe/shared/fake-deliveries";
import { createLogger } from "@adpipe/shared/logger";
import { type DeltaMessage, encodeDeltaHeaders } from "@adpipe/shared/messages/delta";
import { loadedEvent } from "@adpipe/shared/messages/loaded";
import { waitFor } from "@adpipe/shared/testing";
import { type ClickHouseClient, ClickHouseError } from "@clickhouse/client";
import type { JetStreamClient } from "nats";
import type { DeadLetters } from "./dead-letters.ts";
import { classifyInsertFailure, transientDelayMs } from "./insert-failure.ts";
import { buildLoadedEvent } from "./loaded-announcement.ts";
import { createTableLoop } from "./table-loop.ts";

const rejectedError = () =>
  new ClickHouseError({ message: "cannot parse", code: "27", type: "CANNOT_PARSE_INPUT" });
const limits = { maxAttempts: 3, maxBackoffMs: 1500 };

test("an unreachable or overloaded ClickHouse is transient: never counted against the batch", () => {
  expect(classifyInsertFailure(new Error("ECONNREFUSED"), 99, limits)).toEqual({ action: "transient" });
  const tooManyParts = new ClickHouseError({
    message: "too many parts",
    code: "252",
    type: "TOO_MANY_PARTS",
  });
  expect(classifyInsertFailure(tooManyParts, 99, limits)).toEqual({ action: "transient" });
});

test("a rejected batch is retried with a growing delay, then dead-lettered at maxAttempts", () => {
  expect(classifyInsertFailure(rejectedError(), 1, limits)).toEqual({ action: "retry", delayMs: 1000 });
  expect(classifyInsertFailure(rejectedError(), 2, limits)).toEqual({ action: "retry", delayMs: 1500 });
  expect(classifyInsertFailure(rejectedError(), 3, limits)).toEqual({ action: "dead-letter" });
  expect(classifyInsertFailure(rejectedError(), 4, limits)).toEqual({ action: "dead-letter" });
});

test("transientDelayMs doubles from 250 ms up to maxBackoffMs", () => {
  expect([0, 1, 2, 3, 30].map((n) => transientDelayMs(n, 1500))).toEqual([250, 500, 1000, 1500, 1500]);
});

const meta = (batchId: string, from: string, to: string, rows = 2) => ({
  table: "clicks" as const,
  kind: "upsert" as const,
  batchId,
  columns: UPSERT_COLUMNS.clicks,
  rows,
  watermarkFrom: from,
  watermarkTo: to,
});

test("buildLoadedEvent announces the loaded batches: ids, kinds, rows, highest watermark, merged windows", () => {
  const deltas = [
    { ...meta("b1", "10", "20", 2), kind: "upsert" },
    { ...meta("b2", "20", "30", 3), kind: "delete" },
    { ...meta("b3", "50", "60", 0), kind: "upsert" },
  ] as DeltaMessage[];
  expect(buildLoadedEvent("clicks", deltas, new Date("2026-01-02T03:04:05Z"))).toEqual({
    table: "clicks",
    batchIds: ["b1", "b2", "b3"],
    kinds: ["upsert", "delete"],
    rows: 5,
    watermark: "60",
    windows: [
      { from: "10", to: "30" },
      { from: "50", to: "60" },
    ],
    loadedAt: "2026-01-02T03:04:05.000Z",
  });
});

/** A table loop over fake deliveries and a fake ClickHouse that rejects every INSERT of a "bad" row. */
function loop() {
  const deliveries = fakeDeliveries();
  const inserts: { table: string; token: string | undefined }[] = [];
  const published: { subject: string; msgID: string | undefined; event: unknown }[] = [];
  const dead: string[] = [];
  let unavailable = 0;
  const clickhouse = {
    async insert(p: {
      table: string;
      values: unknown;
      clickhouse_settings?: { insert_deduplication_token?: string };
    }) {
      if (unavailable > 0) {
        unavailable--;
        throw new Error("connect ECONNREFUSED");
      }
      if (p.values instanceof Readable) {
        let body = "";
        for await (const chunk of p.values) body += chunk.toString();
        if (body.includes("bad")) throw rejectedError();
      }
      inserts.push({ table: p.table, token: p.clickhouse_settings?.insert_deduplication_token });
    },
  };
  const js = {
    consumers: { get: async () => deliveries.handle },
    async publish(subject: string, data: Uint8Array, opts: { msgID?: string }) {
      published.push({ subject, msgID: opts.msgID, event: loadedEvent.decode(data) });
    },
  };
  const l = createTableLoop({
    table: "clicks",
    namespace: "ns",
    js: js as unknown as JetStreamClient,
    clickhouse: clickhouse as unknown as ClickHouseClient,
    deadLetters: { put: async (d: { error: string }) => void dead.push(d.error) } as unknown as DeadLetters,
    logger: createLogger("table-loop-test", "error", {}, () => {}),
    flushMs: 30,
    maxInsertBytes: 1 << 20,
    maxAttempts: 3,
    maxBackoffMs: 1500,
    dedupTokens: true,
    heartbeatMs: 10,
  });
  return { l, deliveries, inserts, published, dead, unavailable: (n: number) => (unavailable = n) };
}

const delta = (batchId: string, seq: number, deliveryCount = 1) =>
  fakeMsg(`${batchId}\t2\n`, {
    seq,
    deliveryCount,
    headers: encodeDeltaHeaders(meta(batchId, String(seq), String(seq + 1))),
  });

test("deltas within flushMs become one INSERT, recorded, announced, then acked; an invalid one is dead-lettered", async () => {
  const t = loop();
  await t.l.start();
  const msgs = [delta("b1", 1), delta("b2", 2)];
  const invalid = fakeMsg("1\t2\n", { seq: 3 });
  t.deliveries.deliver(msgs[0] as (typeof msgs)[0], invalid, msgs[1] as (typeof msgs)[0]);
  await waitFor(() => msgs.every((m) => m.outcomes.length > 0), { timeoutMs: 5000, what: "acks" });
  await t.l.stop();
  expect(t.inserts.map((i) => i.table)).toEqual(["clicks", "loaded_batches"]);
  expect(t.inserts[0]?.token).toStartWith("batches-2-");
  expect(t.published).toHaveLength(1);
  expect(t.published[0]?.subject).toBe("ns.loaded.clicks");
  expect(t.published[0]?.event).toMatchObject({
    table: "clicks",
    batchIds: ["b1", "b2"],
    rows: 4,
    watermark: "3",
  });
  expect(msgs.map((m) => m.outcomes)).toEqual([["ack"], ["ack"]]);
  expect(invalid.outcomes).toEqual(["ack"]);
  expect(t.dead).toEqual(["no headers"]);
  expect(t.l.stats.errors.invalid).toBe(1);
});

test("a rejected multi-batch INSERT is retried one by one: the good batch loads, the bad one is nak'd or dead-lettered", async () => {
  const t = loop();
  await t.l.start();
  const good = delta("good", 1);
  const bad = delta("bad", 2, 1);
  const worse = delta("bad", 3, 3);
  t.deliveries.deliver(good, bad);
  await waitFor(() => good.outcomes.length > 0 && bad.outcomes.length > 0, {
    timeoutMs: 5000,
    what: "settled",
  });
  t.deliveries.deliver(worse);
  await waitFor(() => worse.outcomes.length > 0, { timeoutMs: 5000, what: "dead letter" });
  await t.l.stop();
  expect(good.outcomes).toEqual(["ack"]);
  expect(bad.outcomes).toEqual(["nak 1000"]);
  expect(worse.outcomes).toEqual(["ack"]);
  expect(t.dead).toEqual(["ClickHouse error 27 (CANNOT_PARSE_INPUT): cannot parse"]);
  expect(t.published.map((p) => (p.event as { batchIds: string[] }).batchIds)).toEqual([["good"]]);
  expect(t.l.stats.errors.rejected).toBe(2);
});

test("ClickHouse unreachable: the batch is nak'd with the transient backoff, uncounted, and loads when it comes back", async () => {
  const t = loop();
  t.unavailable(1);
  await t.l.start();
  const first = delta("b1", 1);
  t.deliveries.deliver(first);
  await waitFor(() => first.outcomes.length > 0, { timeoutMs: 5000, what: "nak" });
  const again = delta("b1", 1, 2);
  t.deliveries.deliver(again);
  await waitFor(() => again.outcomes.length > 0, { timeoutMs: 5000, what: "ack" });
  await t.l.stop();
  expect(first.outcomes).toEqual([`nak ${transientDelayMs(1, 1500)}`]);
  expect(again.outcomes).toEqual(["ack"]);
  expect(t.dead).toEqual([]);
  expect(t.l.stats.errors).toMatchObject({ transient: 1, rejected: 0 });
});
