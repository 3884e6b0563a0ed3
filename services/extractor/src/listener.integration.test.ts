import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createLogger } from "@adpipe/shared/logger";
import { uniqueName, waitFor } from "@adpipe/shared/testing";
import type { Extractor } from "./extractor.ts";
import { type ChangeListener, startChangeListener } from "./listener.ts";
import { createHarness, type Harness, publishedVersions, seedCampaign } from "./test-support.ts";

// The commit wake-up (EXTRACT_LISTEN): with the timer set to an hour, a committed change is
// published only because PostgreSQL's notification woke the extractor, also after the listening
// session was killed.

let h: Harness;
let campaignId: number;
let extractor: Extractor;
let listener: ChangeListener;
const APP = uniqueName("listen");

beforeAll(async () => {
  h = await createHarness();
  campaignId = await seedCampaign(h.pool);
  extractor = h.newExtractor(undefined, { EXTRACT_INTERVAL_MS: "3600000" });
  // The first cycle runs at start; after it the timer alone would wait an hour.
  extractor.start();
  await waitFor(async () => (await extractor.watermarks()).every((w) => w.xid !== "0"), {
    what: "the first cycle",
  });
  listener = startChangeListener({
    connectionString: h.db.url,
    logger: createLogger("listener-test", "silent"),
    applicationName: APP,
    onChange: () => extractor.nudge(),
  });
  await waitFor(() => listener.listening(), { what: "listening" });
});
afterAll(async () => {
  await listener?.stop();
  await extractor?.stop();
  await h.close();
});

async function insertAndAwaitPublished(n: number): Promise<void> {
  const { rows } = await h.pool.query<{ v: string }>(
    `INSERT INTO impressions (campaign_id, created_at) SELECT $1, now() FROM generate_series(1, $2::int)
     RETURNING id || '@' || _version AS v`,
    [campaignId, n],
  );
  const expected = rows.map((r) => r.v);
  await waitFor(
    async () => {
      const published = new Set(publishedVersions(await h.deltas(), "impressions"));
      return expected.every((v) => published.has(v));
    },
    { what: "the committed rows published", timeoutMs: 15_000 },
  );
}

describe("change listener", () => {
  test("a commit wakes the extractor: the rows are published without waiting for the timer", async () => {
    const before = listener.stats.notifications;
    await insertAndAwaitPublished(5);
    expect(listener.stats.notifications).toBeGreaterThan(before);
  });

  test("a rolled-back change sends no notification", async () => {
    const before = listener.stats.notifications;
    const client = await h.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("INSERT INTO impressions (campaign_id, created_at) VALUES ($1, now())", [
        campaignId,
      ]);
      await client.query("ROLLBACK");
      // A notification on the same channel after it, committed: the listener sees only that one.
      await client.query("SELECT pg_notify('adpipe_changes', 'marker')");
    } finally {
      client.release();
    }
    await waitFor(() => listener.stats.notifications > before, { what: "the marker" });
    expect(listener.stats.notifications).toBe(before + 1);
  });

  test("a killed listening session reconnects, and commits wake the extractor again", async () => {
    const { rows } = await h.pool.query<{ n: string }>(
      "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = $1",
      [APP],
    );
    expect(Number(rows[0]?.n)).toBe(1);
    await waitFor(() => listener.stats.reconnects === 1 && listener.listening(), {
      what: "the listener back",
      timeoutMs: 10_000,
    });
    await insertAndAwaitPublished(3);
  });
});
