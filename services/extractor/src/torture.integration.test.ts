import { afterAll, beforeAll, expect, test } from "bun:test";
import pg from "pg";
import { type Harness, publishedVersions, seededHarness } from "./test-support.ts";

let h: Harness;
let campaignId: number;

beforeAll(async () => {
  ({ h, campaignId } = await seededHarness());
});
afterAll(() => h.close());

const WRITERS = 6;
const TRANSACTIONS_PER_WRITER = 25;

/**
 * One writer: transactions that take ids, wait a random while (so they commit in a different
 * order than they took ids and xids), then commit, or now and then roll back. Some also update
 * the shared campaign row, which serialises them on its row lock.
 */
async function writer(url: string, seed: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let state = seed;
  const rand = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  try {
    for (let i = 0; i < TRANSACTIONS_PER_WRITER; i++) {
      await client.query("BEGIN");
      await client.query("INSERT INTO impressions (campaign_id) SELECT $1 FROM generate_series(1, $2::int)", [
        campaignId,
        1 + Math.floor(rand() * 5),
      ]);
      await Bun.sleep(rand() * 15);
      if (rand() < 0.3)
        await client.query("UPDATE campaign SET bid = bid + 0.01 WHERE id = $1", [campaignId]);
      await client.query("INSERT INTO impressions (campaign_id) VALUES ($1)", [campaignId]);
      await Bun.sleep(rand() * 15);
      await client.query(rand() < 0.1 ? "ROLLBACK" : "COMMIT");
    }
  } finally {
    await client.end();
  }
}

test("concurrent writers committing in random order: every row version is published exactly once", async () => {
  const extractor = h.newExtractor(undefined, { EXTRACT_MAX_BATCH_ROWS: "7" });
  let writing = true;
  let cycles = 0;
  const extracting = (async () => {
    while (writing) {
      const { results } = await extractor.extract();
      expect(results.filter((r) => r.status === "failed")).toEqual([]);
      cycles++;
    }
  })();
  await Promise.all(Array.from({ length: WRITERS }, (_, i) => writer(h.db.url, i + 1)));
  writing = false;
  await extracting;
  await extractor.extract(); // everything has committed: one more cycle sees the rest

  const deltas = await h.deltas();
  expect(cycles).toBeGreaterThan(3);

  const impressions = publishedVersions(deltas, "impressions");
  const { rows } = await h.pool.query<{ v: string }>("SELECT id || '@' || _version AS v FROM impressions");
  expect(rows.length).toBeGreaterThan(WRITERS * TRANSACTIONS_PER_WRITER);
  expect(impressions.length).toBe(rows.length);
  expect(new Set(impressions)).toEqual(new Set(rows.map((r) => r.v)));

  // The updated campaign: no version twice, versions grow in stream order, the last one is current.
  const campaign = publishedVersions(deltas, "campaign").map((v) => BigInt(v.split("@")[1] ?? "0"));
  expect(new Set(campaign).size).toBe(campaign.length);
  expect([...campaign].sort((a, b) => (a < b ? -1 : 1))).toEqual(campaign);
  const [current] = (await h.pool.query<{ v: string }>("SELECT _version::text AS v FROM campaign")).rows;
  expect(campaign.at(-1)).toBe(BigInt(current?.v ?? "0"));
});
