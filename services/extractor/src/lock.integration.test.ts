import { afterAll, beforeAll, expect, test } from "bun:test";
import { TABLES } from "@adpipe/shared/contract";
import { createLogger } from "@adpipe/shared/logger";
import { createPool } from "@adpipe/shared/pg";
import { waitFor } from "@adpipe/shared/testing";
import { createExtractor } from "./extractor.ts";
import { type Harness, publishedVersions, seededHarness } from "./test-support.ts";

let h: Harness;
let campaignId: number;

beforeAll(async () => {
  ({ h, campaignId } = await seededHarness());
});
afterAll(() => h.close());

/** A second extractor as another process would be: its own pool, so its own sessions and locks. */
function otherExtractor(hooks?: Parameters<Harness["newExtractor"]>[0]) {
  const pool = createPool({ connectionString: h.db.url, max: 10 });
  const extractor = createExtractor({
    pool,
    js: h.nc.jetstream(),
    maxPayload: 1024 * 1024,
    config: h.config,
    logger: createLogger("other", "silent"),
    hooks,
  });
  return { extractor, close: () => pool.end() };
}

test("while one extractor holds a table, another skips it and cannot move its watermark", async () => {
  await h.pool.query(`INSERT INTO impressions (campaign_id) VALUES (${campaignId})`);
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered = false;
  const a = otherExtractor({
    afterPublish: async (table) => {
      if (table !== "impressions") return;
      entered = true;
      await gate;
    },
  });
  const b = otherExtractor();
  try {
    const running = a.extractor.extract();
    await waitFor(() => entered, { what: "extractor A to hold impressions" });
    const held = (await h.newExtractor().watermarks()).find((w) => w.table === "impressions");

    const { results } = await b.extractor.extract();
    expect(results.find((r) => r.table === "impressions")).toMatchObject({ status: "skipped", rows: 0 });
    expect(results.filter((r) => r.status === "skipped").map((r) => r.table)).toEqual(["impressions"]);
    expect((await b.extractor.watermarks()).find((w) => w.table === "impressions")).toEqual(held as never);

    release();
    const first = (await running).results.find((r) => r.table === "impressions");
    expect(first).toMatchObject({ status: "published", rows: 1 });
    const next = (await b.extractor.extract("impressions")).results[0];
    expect(next?.status).not.toBe("skipped");
    expect(next?.from).toBe(first?.to ?? "");
  } finally {
    release();
    await a.close();
    await b.close();
  }
});

test("two extractors running cycles at once publish disjoint windows and every row once", async () => {
  const a = otherExtractor();
  const b = otherExtractor();
  const before = (await h.deltas()).length;
  const start = await h.newExtractor().watermarks();
  let writing = true;
  const statuses: string[] = [];
  const loop = async (extractor: typeof a.extractor) => {
    while (writing) for (const r of (await extractor.extract()).results) statuses.push(r.status);
  };
  try {
    const loops = [loop(a.extractor), loop(b.extractor)];
    for (let i = 0; i < 60; i++) {
      await h.pool.query(
        `INSERT INTO impressions (campaign_id) SELECT ${campaignId} FROM generate_series(1, 3)`,
      );
    }
    writing = false;
    await Promise.all(loops);
    await a.extractor.extract();
  } finally {
    await a.close();
    await b.close();
  }
  expect(statuses).not.toContain("failed");
  expect(statuses).toContain("skipped");

  const deltas = (await h.deltas()).slice(before);
  for (const table of TABLES) {
    const windows = [...new Map(deltas.filter((d) => d.table === table).map((d) => [d.from, d.to])).entries()]
      .map(([from, to]) => ({ from: BigInt(from), to: BigInt(to) }))
      .sort((x, y) => (x.from < y.from ? -1 : 1));
    for (let i = 1; i < windows.length; i++)
      expect(windows[i]?.from).toBeGreaterThanOrEqual(windows[i - 1]?.to ?? 0n);
    const startXid = BigInt(start.find((w) => w.table === table)?.xid ?? "0");
    if (windows[0]) expect(windows[0].from).toBeGreaterThanOrEqual(startXid);
  }
  const published = publishedVersions(await h.deltas(), "impressions");
  const { rows } = await h.pool.query<{ v: string }>("SELECT id || '@' || _version AS v FROM impressions");
  expect(published.length).toBe(rows.length);
  expect(new Set(published)).toEqual(new Set(rows.map((r) => r.v)));
});
