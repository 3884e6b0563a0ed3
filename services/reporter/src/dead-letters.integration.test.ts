import { afterAll, beforeAll, expect, test } from "bun:test";
import { streams } from "@adpipe/shared/contract";
import { DLQ_HEADERS } from "@adpipe/shared/dead-letters";
import { createLogger } from "@adpipe/shared/logger";
import { waitFor } from "@adpipe/shared/testing";
import { addFacts, createReporterWorld, type ReporterWorld, seedCampaigns } from "@adpipe/testing";
import { INVALID_EVENT, REBUILD_FAILED } from "./dead-letters.ts";
import { loadQueries } from "./sql.ts";

// Issue #13: a loaded event whose rebuild keeps failing is set aside after REPORTER_MAX_ATTEMPTS
// deliveries, with the reason (ClickHouse's code and message) in the log and in the dead letter,
// and the reports are healed by a full rebuild: never retried forever. The failure is real: a
// report table the rebuild writes is renamed away, so ClickHouse answers UNKNOWN_TABLE.

let w: ReporterWorld;
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  w = await createReporterWorld({
    config: { REPORTER_MAX_ATTEMPTS: 3, REPORTER_HEAL_INTERVAL_MS: 300 },
    logger: createLogger("reporter", "info", {}, (line) => lines.push(JSON.parse(line))),
  });
  await seedCampaigns(w, 2);
});
afterAll(async () => {
  await w?.close();
});

type Status = {
  counters: { failures: number; set_aside: number };
  last_rebuild: { reason: string; full: boolean } | null;
  set_aside_pending: number;
};
const status = () => w.get("/reports/status") as Promise<Status>;
const drained = async () => {
  const info = await w.jsm.consumers.info(streams(w.namespace).events, streams(w.namespace).reporterConsumer);
  return info.num_pending === 0 && info.num_ack_pending === 0;
};
const impressionsOf = async (id: number) =>
  ((await w.get(`/kpis/campaigns/${id}`)) as { impressions: number }).impressions;

test("an event whose rebuild keeps failing is set aside with the reason, and a full rebuild heals the reports", async () => {
  await addFacts(w, "impressions", 1, 5);
  await waitFor(async () => (await impressionsOf(1)) === 5, { what: "first facts reported" });
  // ... and their events acknowledged (the rows are visible a moment before the ack).
  await waitFor(drained, { what: "the consumer drained" });

  await w.chs.client.command({ query: "RENAME TABLE advertiser_campaigns_clicks TO clicks_report_away" });
  await addFacts(w, "impressions", 1, 7);

  // Set aside in the dead-letter stream, with ClickHouse's code and message as the reason.
  const dlq = streams(w.namespace).dlq;
  const subject = `${w.namespace}.dlq.reporter.impressions`;
  const letter = await waitFor(
    async () => {
      try {
        return await w.jsm.streams.getMessage(dlq, { last_by_subj: subject });
      } catch {
        return undefined; // not there yet
      }
    },
    { what: "a dead letter for the event", timeoutMs: 20_000 },
  );
  expect(letter.header.get(DLQ_HEADERS.errorKind)).toBe(REBUILD_FAILED);
  expect(letter.header.get(DLQ_HEADERS.attempts)).toBe("3");
  expect(letter.header.get(DLQ_HEADERS.originalSubject)).toBe(`${w.namespace}.loaded.impressions`);
  expect(letter.header.get(DLQ_HEADERS.error)).toContain("ClickHouse error 60 (UNKNOWN_TABLE)");
  expect(JSON.parse(letter.string())).toMatchObject({ table: "impressions", rows: 7 });

  // Never retried again: nothing pending or unacknowledged for the reporter's consumer.
  await waitFor(drained, { what: "the consumer drained" });
  expect((await status()).counters.set_aside).toBe(1);

  // The reason is in the log: the failures and the setting-aside, with ClickHouse's code.
  const failed = lines.filter((l) => l.msg === "rebuild failed; events will be redelivered");
  expect(failed.length).toBe(3);
  for (const l of failed) {
    expect(l.clickhouse_code).toBe("60");
    expect(String(l.error)).toContain("UNKNOWN_TABLE");
    expect(String((l.err as { message: string }).message).length).toBeGreaterThan(0);
  }
  const setAside = lines.find((l) => String(l.msg).startsWith("loaded events set aside"));
  expect(setAside).toMatchObject({ level: "error", clickhouse_code: "60", attempts: 3 });

  // The full rebuild fails too while the table is away; /ready says so.
  await waitFor(async () => (await w.app.request("/ready")).status === 503, { what: "not ready" });
  expect((await status()).set_aside_pending).toBe(1);

  // The table back: the next heal check's full rebuild heals the reports.
  await w.chs.client.command({ query: "RENAME TABLE clicks_report_away TO advertiser_campaigns_clicks" });
  await waitFor(async () => (await impressionsOf(1)) === 12, { what: "reports healed", timeoutMs: 20_000 });
  // The rows are visible a moment before the rebuild's bookkeeping is done.
  const after = await waitFor(async () => {
    const st = await status();
    return st.set_aside_pending === 0 && st;
  });
  expect(after.last_rebuild).toMatchObject({ reason: "set-aside", full: true });
  await waitFor(async () => (await w.app.request("/ready")).status === 200, { what: "ready again" });
  // Later events are processed as usual.
  await addFacts(w, "impressions", 2, 4);
  await waitFor(async () => (await impressionsOf(2)) === 4, { what: "new facts reported" });
  expect((await status()).counters.set_aside).toBe(1);
}, 60_000);

test("loaded batches whose heal rebuild keeps failing are healed by a full rebuild, not retried forever", async () => {
  // A small test-only configuration: the statement that finds the touched id buckets reads a
  // table that does not exist, so ClickHouse fails every keyed rebuild of impressions
  // (UNKNOWN_TABLE), while full rebuilds, which do not look buckets up, work.
  const logged: Record<string, unknown>[] = [];
  const v = await createReporterWorld({
    queries: {
      ...loadQueries(),
      "touched-buckets": "SELECT intDiv(id, 65536) AS bucket FROM no_such_table",
    },
    config: { REPORTER_MAX_ATTEMPTS: 2, REPORTER_HEAL_INTERVAL_MS: 300 },
    logger: createLogger("reporter", "info", {}, (line) => logged.push(JSON.parse(line))),
  });
  try {
    await seedCampaigns(v, 2);
    // Reported first: a campaign event rebuilds all its days, which would count the rows below.
    await waitFor(
      async () => {
        const info = await v.jsm.consumers.info(
          streams(v.namespace).events,
          streams(v.namespace).reporterConsumer,
        );
        const s = (await v.get("/reports/status")) as { counters: { events: number } };
        return info.num_pending === 0 && info.num_ack_pending === 0 && s.counters.events === 2;
      },
      { what: "campaigns reported" },
    );
    // Loaded (rows and loaded_batches row, as the loader writes them) but never announced.
    await v.chs.client.command({
      query:
        "INSERT INTO impressions (id, campaign_id, created_at, _version, _xid) VALUES (1, 1, now64(6, 'UTC'), 1, 9000), (2, 1, now64(6, 'UTC'), 2, 9000), (3, 2, now64(6, 'UTC'), 3, 9000)",
    });
    await v.chs.client.command({
      query:
        "INSERT INTO loaded_batches (table_name, batch_id, kind, from_xid, to_xid, rows) VALUES ('impressions', 'lost-1', 'upsert', 9000, 9001, 3)",
    });
    const impressions = async (id: number) =>
      ((await v.get(`/kpis/campaigns/${id}`)) as { impressions: number }).impressions;
    await waitFor(async () => (await impressions(1)) === 2 && (await impressions(2)) === 1, {
      what: "the lost batch reported by a full rebuild",
    });
    const escalated = logged.find((l) => String(l.msg).startsWith("heal rebuild failed repeatedly"));
    expect(escalated).toMatchObject({ level: "error", clickhouse_code: "60", attempts: 2, batches: 1 });
    const st = await waitFor(async () => {
      const s = (await v.get("/reports/status")) as Status & {
        progress: Record<string, { unreported_batches: number }>;
      };
      return s.set_aside_pending === 0 && s.progress?.impressions?.unreported_batches === 0 && s;
    });
    expect(st.last_rebuild).toMatchObject({ reason: "set-aside", full: true });
    await waitFor(async () => (await v.app.request("/ready")).status === 200, { what: "ready again" });
  } finally {
    await v.close();
  }
}, 60_000);

test("bytes on a loaded subject that are no event are set aside as invalid_message, and the reporter goes on", async () => {
  const subject = `${w.namespace}.loaded.clicks`;
  await w.nc
    .jetstream()
    .publish(subject, new TextEncoder().encode('{"table":"clicks"}'), { msgID: "poison-1" });
  const letter = await waitFor(
    async () => {
      try {
        return await w.jsm.streams.getMessage(streams(w.namespace).dlq, {
          last_by_subj: `${w.namespace}.dlq.reporter.clicks`,
        });
      } catch {
        return undefined; // not there yet
      }
    },
    { what: "a dead letter for the poison event", timeoutMs: 20_000 },
  );
  expect(letter.header.get(DLQ_HEADERS.errorKind)).toBe(INVALID_EVENT);
  expect(letter.header.get(DLQ_HEADERS.originalSubject)).toBe(subject);
  expect(letter.header.get(DLQ_HEADERS.error)).toStartWith("invalid loaded event: ");
  expect(letter.string()).toBe('{"table":"clicks"}');
  // Terminated once stored: never redelivered.
  await waitFor(drained, { what: "the consumer drained" });
  const before = await impressionsOf(2);
  await addFacts(w, "impressions", 2, 3);
  await waitFor(async () => (await impressionsOf(2)) === before + 3, { what: "later facts reported" });
}, 60_000);
