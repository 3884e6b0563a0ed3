import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { blockRanges } from "./snapshot.ts";
import { createHarness, type Harness, publishedVersions, seedCampaign } from "./test-support.ts";

// The parallel snapshot (EXTRACT_SNAPSHOT_WORKERS): a large window read by several sessions in one
// exported snapshot publishes exactly the row versions one session would, through concurrent
// commits and a worker that dies mid-read.

let h: Harness;
let campaigns: number[];

beforeAll(async () => {
  h = await createHarness();
  campaigns = [await seedCampaign(h.pool), await seedCampaign(h.pool), await seedCampaign(h.pool)];
});
afterAll(() => h.close());

const SPLIT = {
  EXTRACT_SNAPSHOT_WORKERS: "3",
  EXTRACT_SNAPSHOT_MIN_ROWS: "1",
  EXTRACT_MAX_BATCH_ROWS: "700",
};

/** Interleaved traffic: campaign = id mod 3, timestamps spread over a week. */
async function insertImpressions(n: number): Promise<void> {
  await h.pool.query(
    `INSERT INTO impressions (campaign_id, created_at)
     SELECT ($1::bigint[])[1 + g % 3], timestamp '2026-11-20' + (g % 604800) * interval '1 second'
     FROM generate_series(1, $2::int) g`,
    [campaigns, n],
  );
}

/** Every id's current version in PostgreSQL, as `id@version`. */
async function currentVersions(): Promise<string[]> {
  const { rows } = await h.pool.query<{ v: string }>(
    "SELECT id || '@' || _version AS v FROM impressions ORDER BY id",
  );
  return rows.map((r) => r.v);
}

/** The highest published version of every id, as `id@version`, ids in order. */
function latestPublished(versions: string[]): string[] {
  const latest = new Map<number, bigint>();
  for (const v of versions) {
    const [id, version] = v.split("@").map((x) => BigInt(x)) as [bigint, bigint];
    const seen = latest.get(Number(id));
    if (seen === undefined || version > seen) latest.set(Number(id), version);
  }
  return [...latest.entries()].sort(([a], [b]) => a - b).map(([id, v]) => `${id}@${v}`);
}

describe("parallel snapshot", () => {
  test("block ranges cover every block once, the last one open-ended", () => {
    expect(blockRanges(10, 3)).toEqual([
      [0, 4],
      [4, 8],
      [8, null],
    ]);
    expect(blockRanges(2, 4)).toEqual([
      [0, 1],
      [1, null],
    ]);
    expect(blockRanges(1, 1)).toEqual([[0, null]]);
  });

  test("a large window read by three workers publishes each row version once, and only those of its snapshot", async () => {
    await insertImpressions(20_000);
    await h.pool.query("UPDATE impressions SET campaign_id = $1 WHERE id % 97 = 0", [campaigns[0]]);
    await h.pool.query("DELETE FROM impressions WHERE id % 89 = 0");
    const before = (await h.deltas()).length;
    const inSnapshot = await currentVersions();

    // While the parts stream, another session commits new rows and moves old ones: none of it
    // belongs to this window (their xids are above its end); the next cycle publishes them.
    let wrote = false;
    const extractor = h.newExtractor(
      {
        beforePublish: async (table, sequence) => {
          if (table !== "impressions" || sequence !== 2 || wrote) return;
          wrote = true;
          await insertImpressions(500);
          await h.pool.query(
            "UPDATE impressions SET created_at = created_at + interval '1 hour' WHERE id % 50 = 1",
          );
        },
      },
      SPLIT,
    );
    const first = await extractor.extract("impressions");
    expect(first.results[0]).toMatchObject({ status: "published" });
    expect(wrote).toBe(true);

    const window = (await h.deltas())
      .slice(before)
      .filter((d) => d.table === "impressions" && d.kind === "upsert");
    // It was split: batch ids carry the part (`-<part>.<sequence>-`), all three parts present.
    const parts = new Set(window.map((d) => /-(\d+)\.\d+-[0-9a-f]+$/.exec(d.batchId)?.[1]));
    expect([...parts].sort()).toEqual(["0", "1", "2"]);
    const versions = publishedVersions(window, "impressions");
    expect(new Set(versions).size).toBe(versions.length);
    expect([...versions].sort()).toEqual([...inSnapshot].sort());

    const second = await extractor.extract("impressions");
    expect(second.results[0]).toMatchObject({ status: "published" });
    const all = publishedVersions((await h.deltas()).slice(before), "impressions");
    expect(latestPublished(all)).toEqual(await currentVersions());
  });

  test("a worker that dies mid-read fails the cycle, the window stays pending, the next cycle publishes it whole", async () => {
    await insertImpressions(10_000);
    let calls = 0;
    const crashing = h.newExtractor(
      {
        beforePublish: () => {
          calls++;
          if (calls === 4) throw new Error("injected crash");
        },
      },
      SPLIT,
    );
    const crashed = await crashing.extract("impressions");
    expect(crashed.results[0]).toMatchObject({ status: "failed", error: "injected crash" });
    const pending = (await crashing.watermarks()).find((w) => w.table === "impressions");
    expect(pending?.pendingXid).toBe(crashed.results[0]?.to ?? "missing");

    const retried = await h.newExtractor(undefined, SPLIT).extract("impressions");
    expect(retried.results[0]).toMatchObject({ status: "published", to: crashed.results[0]?.to });
    // Every row of the table is now published at its current version.
    const everything = publishedVersions(await h.deltas(), "impressions");
    expect(latestPublished(everything)).toEqual(await currentVersions());
    // The crashed worker's session was discarded and nothing holds the table's lock.
    const again = await h.newExtractor(undefined, SPLIT).extract("impressions");
    expect(again.results[0]).toMatchObject({ status: "idle" });
  });
});
