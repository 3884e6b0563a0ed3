import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestClickHouse, type TestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { connectNats, deleteStreams, ensureStreams } from "@adpipe/shared/nats";
import { ensureReporterConsumer } from "@adpipe/shared/nats-consumers";
import { loadOlapMigrations, migrateOlap } from "@adpipe/shared/olap-migrate";
import { uniqueName } from "@adpipe/shared/testing";
import { reporterTestConfig, testLogger } from "@adpipe/testing";
import type { NatsConnection } from "nats";
import { createRebuilder } from "./rebuild.ts";
import { createReporter } from "./reporter.ts";
import { loadQueries } from "./sql.ts";
import { planEvents } from "./touched.ts";

// A ClickHouse database laid out before migration 0007 (no bucket counts), holding facts and
// reports, is migrated in place (0007, then 0008, which copies the facts into the keyed tables):
// the facts stay, and the reporter's start-up fills the bucket counts and rewrites the reports
// from them, equal to the facts counted directly; so are they after keyed rebuilds of
// (bucket, campaign) pairs in the migrated buckets.

let ch: TestClickHouse;
let nc: NatsConnection;
const namespace = uniqueName("bucketmig");

beforeAll(async () => {
  ch = await startTestClickHouse();
  nc = await connectNats({ url: process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222" });
});
afterAll(async () => {
  await deleteStreams(await nc.jetstreamManager(), namespace).catch(() => {});
  await nc.drain();
  await ch.stop();
});

async function rows<T>(query: string): Promise<T[]> {
  const rs = await ch.client.query({
    query,
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return (await rs.json()) as T[];
}

test("migrations 0007 and 0008 keep the data; the reporter fills the bucket counts and the reports equal the facts, also after pair recounts", async () => {
  const before0007 = loadOlapMigrations().filter((m) => m.version < 7);
  await migrateOlap(ch.client, ch.database, undefined, before0007);
  expect(
    (
      await rows<{ n: number }>(
        "SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name LIKE '%_buckets'",
      )
    )[0]?.n,
  ).toBe(0);

  // What a loader wrote: 3 campaigns, 30,000 impressions and 3,000 clicks over 3 days (ids
  // spanning several buckets), some without created_at, some deleted, some moved.
  await ch.client.command({
    query: `INSERT INTO campaign (id, name, bid, budget, start_date, end_date, advertiser_id, _version, _xid)
      SELECT number + 1, 'c', 1.5, 100, today() - 2, today() + 2, NULL, 1, 1 FROM numbers(3)`,
  });
  for (const [table, n] of [
    ["impressions", 30_000],
    ["clicks", 3_000],
  ] as const) {
    await ch.client.command({
      query: `INSERT INTO ${table} (id, campaign_id, created_at, _version, _xid)
        SELECT number * 7 + 1, toInt32(1 + number % 3),
               if(number % 101 = 0, NULL, now64(6, 'UTC') - toIntervalMinute(number % 4000)), 10 + number, 10
        FROM numbers(${n})`,
    });
    // Deletes (every 13th row) and moves to campaign 3, two days back (every 17th), as the
    // extractor delivers them: a tombstone, then for a move the new version.
    await ch.client.command({
      query: `INSERT INTO ${table} (id, campaign_id, created_at, _version, _xid, _deleted)
        SELECT number * 7 + 1, NULL, NULL, 1000000 + number, 20, 1 FROM numbers(${n})
        WHERE number % 13 = 0 OR number % 17 = 0`,
    });
    await ch.client.command({
      query: `INSERT INTO ${table} (id, campaign_id, created_at, _version, _xid)
        SELECT number * 7 + 1, 3, now64(6, 'UTC') - toIntervalDay(2), 2000000 + number, 20 FROM numbers(${n})
        WHERE number % 17 = 0 AND number % 13 != 0`,
    });
  }
  // Reports an older reporter left (stale on purpose: the migration must not leave them so).
  await ch.client.command({
    query: `INSERT INTO advertiser_campaigns_impressions (campaign_id, date, advertiser_id, impressions, _version)
      VALUES (1, today(), NULL, 5, 1)`,
  });
  const facts = async () =>
    (
      await rows<{ n: number }>(
        "SELECT (SELECT count() FROM impressions) + (SELECT count() FROM clicks) AS n",
      )
    )[0]?.n;
  const factsBefore = await facts();

  const { applied } = await migrateOlap(ch.client, ch.database);
  expect(applied).toEqual([
    "0007_fact_buckets",
    "0008_fact_keys",
    "0009_bid_history_and_cost",
    "0010_progress_time_indexes",
    "0011_ids_64_bit",
  ]);
  expect(await facts()).toBe(factsBefore);

  const jsm = await nc.jetstreamManager();
  await ensureStreams(jsm, namespace);
  await ensureReporterConsumer(jsm, namespace, { ackWaitMs: 5000 });
  const reporter = createReporter({
    js: nc.jetstream(),
    jsm,
    clickhouse: ch.client,
    config: reporterTestConfig(namespace),
    logger: testLogger,
  });
  await reporter.start();
  try {
    expect((await reporter.status()).last_rebuild).toMatchObject({ reason: "start-up", full: true });
    await reportsEqualFacts();
  } finally {
    await reporter.stop();
  }

  // Then deletes and moves as the extractor now sends them (tombstones naming the campaign and
  // time they remove), in the buckets the migration copied into the keyed tables: pair recounts,
  // which must also honour the tombstones without a campaign stored before.
  for (const table of ["impressions", "clicks"] as const) {
    // Deletes in every bucket.
    await ch.client.command({
      query: `INSERT INTO ${table} (id, campaign_id, created_at, _version, _xid, _deleted)
        SELECT id, campaign_id, created_at, 3000000 + id, 30, 1 FROM ${table}_current
        WHERE intDiv(id - 1, 7) % 19 = 0`,
    });
    // Moves to campaign 2, a day back, in bucket 0 only: a tombstone naming the old campaign and
    // time, then the new version.
    await ch.client.command({
      query: `INSERT INTO ${table} (id, campaign_id, created_at, _version, _xid, _deleted)
        WITH moved AS (
          SELECT id, campaign_id, created_at FROM ${table}_current
          WHERE intDiv(id - 1, 7) % 23 = 0 AND id < 65536
        )
        SELECT id, campaign_id, created_at, 3000000 + id, 30, 1 FROM moved
        UNION ALL
        SELECT id, 2, now64(6, 'UTC') - toIntervalDay(1), 4000000 + id, 30, 0 FROM moved`,
    });
  }
  const rebuilder = createRebuilder(ch.client, loadQueries());
  const touched = await rebuilder.findTouched(
    planEvents(
      (["impressions", "clicks"] as const).map((table) => ({
        table,
        batchIds: [`${table}-30`],
        kinds: ["delete", "upsert"],
        rows: 1,
        watermark: "31",
        windows: [{ from: "30", to: "31" }],
        loadedAt: new Date().toISOString(),
      })),
    ),
  );
  // Bucket 0 holds the moves (new versions: recounted whole); the deletes elsewhere are pairs.
  expect([...touched.buckets.impressions]).toEqual([0]);
  expect([...touched.pairs.impressions.keys()].sort()).toEqual([1, 2, 3]);
  await rebuilder.write(touched, 10n ** 17n, new Date().toISOString().slice(0, 10));
  await reportsEqualFacts();
}, 60_000);

/** The daily and totals reports of both facts against the facts counted directly. */
async function reportsEqualFacts() {
  for (const fact of ["impressions", "clicks"] as const) {
    const direct = await rows<{ campaign_id: number; date: string; n: number }>(
      `SELECT assumeNotNull(campaign_id) AS campaign_id, toString(toDate32(assumeNotNull(created_at))) AS date, count() AS n
         FROM ${fact}_current WHERE created_at IS NOT NULL GROUP BY campaign_id, date ORDER BY campaign_id, date`,
    );
    const reported = await rows<{ campaign_id: number; date: string; n: number }>(
      `SELECT campaign_id, toString(date) AS date, ${fact} AS n FROM advertiser_campaigns_${fact} FINAL
         WHERE _deleted = 0 ORDER BY campaign_id, date`,
    );
    expect(reported).toEqual(direct);
    expect(direct.length).toBeGreaterThanOrEqual(6);
    const totals = await rows<{ campaign_id: number; n: number }>(
      `SELECT campaign_id, ${fact} AS n FROM advertiser_campaigns_totals_report FINAL WHERE _deleted = 0 ORDER BY campaign_id`,
    );
    const allRows = await rows<{ campaign_id: number; n: number }>(
      `SELECT assumeNotNull(campaign_id) AS campaign_id, count() AS n FROM ${fact}_current GROUP BY campaign_id ORDER BY campaign_id`,
    );
    expect(totals).toEqual(allRows);
  }
}
