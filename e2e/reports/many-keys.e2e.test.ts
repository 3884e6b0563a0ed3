import { afterAll, beforeAll, expect, test } from "bun:test";
import { createPipelineWorld, type PipelineWorld } from "@adpipe/testing";
import { compareBulk, waitForTruth } from "@adpipe/testing/truth";

// Issue #13, done when: a batch touching 5,000 campaigns over 2 days (10,000 (campaign, day)
// keys) goes through the real pipeline (PostgreSQL -> extractor -> NATS -> loader -> embedded
// ClickHouse -> reporter) and the reports equal PostgreSQL within 60 s. Before, ~1,000 keys made
// the rebuild's URL too long for the server (431, no message) and the reporter retried forever.
// REPORTER_MAX_TOUCHED_KEYS is lifted so the keyed rebuild runs, not its full-rebuild fallback.

let w: PipelineWorld;

beforeAll(async () => {
  w = await createPipelineWorld({ config: { REPORTER_MAX_TOUCHED_KEYS: 1_000_000 } });
});
afterAll(async () => {
  await w?.close();
});

type Status = {
  rebuilds: { incremental: number; full: number };
  counters: { failures: number; set_aside: number };
  last_rebuild: { campaigns: number; days: number } | null;
};

test("5,000 campaigns over 2 days: the reports equal PostgreSQL within 60 s, through keyed rebuilds", async () => {
  const client = await w.pool.connect();
  try {
    await client.query("BEGIN");
    await client.query(
      "INSERT INTO advertiser (name) SELECT 'advertiser ' || g FROM generate_series(1, 50) AS g",
    );
    await client.query(
      `INSERT INTO campaign (name, bid, budget, start_date, end_date, advertiser_id)
       SELECT 'campaign ' || g, 0.50 + (g % 7) * 0.25, 50 + (g % 40) * 5, CURRENT_DATE - 3 - (g % 4),
              CURRENT_DATE + (g % 9), (SELECT min(id) FROM advertiser) + (g % 50)
       FROM generate_series(1, 5000) AS g`,
    );
    // Every campaign gets traffic yesterday and today: 10,000 (campaign, day) keys.
    await client.query(
      `INSERT INTO impressions (campaign_id, created_at)
       SELECT c.id, d.day + make_interval(mins => n * 7 + (c.id % 60)::int)
       FROM campaign AS c
       CROSS JOIN (VALUES (CURRENT_DATE - 1), (CURRENT_DATE)) AS d(day)
       CROSS JOIN generate_series(1, 1 + (c.id % 3)::int) AS n`,
    );
    await client.query(
      `INSERT INTO clicks (campaign_id, created_at)
       SELECT c.id, d.day + make_interval(mins => 30 + (c.id % 60)::int)
       FROM campaign AS c
       CROSS JOIN (VALUES (CURRENT_DATE - 1), (CURRENT_DATE)) AS d(day)
       WHERE c.id % 3 <> 0`,
    );
    await client.query("COMMIT");
  } finally {
    client.release();
  }

  const ms = await waitForTruth(
    { pool: w.pool, get: (p) => w.get(p), clickhouse: w.chs.client, now: w.now },
    60_000,
    compareBulk,
  );
  expect(ms).toBeLessThanOrEqual(60_000);
  const result = await compareBulk({ pool: w.pool, get: (p) => w.get(p), now: w.now });
  expect(result).toEqual({ campaigns: 5000, days: 10_000 });

  const status = (await w.get("/reports/status")) as Status;
  // Keyed rebuilds, none failed, nothing set aside, no full-rebuild fallback.
  expect(status.rebuilds.full).toBe(0);
  expect(status.rebuilds.incremental).toBeGreaterThan(0);
  expect(status.counters.failures).toBe(0);
  expect(status.counters.set_aside).toBe(0);
  console.log(
    `5,000 campaigns x 2 days: reports equal PostgreSQL ${ms} ms after the commit (${status.rebuilds.incremental} keyed rebuilds)`,
  );
}, 120_000);
