import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { streams, UPSERT_COLUMNS } from "@adpipe/shared/contract";
import { createLogger } from "@adpipe/shared/logger";
import { connectNats } from "@adpipe/shared/nats";
import { testServerUrl, waitFor } from "@adpipe/shared/testing";
import pg from "pg";
import { createExtractor } from "./extractor.ts";
import { type Harness, natsUrl, publishedVersions, seededHarness } from "./test-support.ts";

let h: Harness;
let campaignId: number;

beforeAll(async () => {
  ({ h, campaignId } = await seededHarness());
});
afterAll(() => h.close());

// Tests share one database and stream; each starts from a drained state.
beforeEach(async () => {
  await h.newExtractor().extract();
});

const rowsOf = async (sql: string) => (await h.pool.query(sql)).rows;
const connect = async () => {
  const client = new pg.Client({ connectionString: h.db.url });
  await client.connect();
  return client;
};

describe("extraction cycle", () => {
  test("inserts become upsert batches with the contract's headers, columns and TSV body", async () => {
    const before = (await h.deltas()).length;
    await h.pool.query(
      "INSERT INTO impressions (campaign_id, created_at) SELECT $1, '2026-11-20 10:00:00' FROM generate_series(1, 3)",
      [campaignId],
    );
    const { results } = await h.newExtractor().extract("impressions");
    expect(results).toMatchObject([{ table: "impressions", status: "published", batches: 1, rows: 3 }]);

    const [delta, ...rest] = (await h.deltas()).slice(before);
    expect(rest).toEqual([]);
    expect(delta).toMatchObject({
      subject: `${h.namespace}.delta.impressions`,
      table: "impressions",
      kind: "upsert",
      rowCount: 3,
      columns: [...UPSERT_COLUMNS.impressions],
      from: results[0]?.from,
      to: results[0]?.to,
    });
    expect(delta?.rows[0]).toMatchObject({
      campaign_id: String(campaignId),
      created_at: "2026-11-20 10:00:00",
    });
    const watermark = (await h.newExtractor().watermarks()).find((w) => w.table === "impressions");
    expect(watermark).toMatchObject({ xid: results[0]?.to, pendingXid: null });
  });

  test("out-of-order commit: a lower id committed after a higher one is published by the next cycle", async () => {
    const a = await connect();
    const b = await connect();
    try {
      await a.query("BEGIN");
      const { rows } = await a.query<{ id: number }>("SELECT nextval('impressions_id_seq')::int AS id");
      const idA = rows[0]?.id;
      await b.query("INSERT INTO impressions (campaign_id) VALUES ($1)", [campaignId]); // higher id, commits
      await a.query("INSERT INTO impressions (id, campaign_id) VALUES ($1, $2)", [idA, campaignId]);
      // A later transaction commits too, so A's xid lies inside the range of finished ones.
      await b.query("INSERT INTO clicks (campaign_id) VALUES ($1)", [campaignId]);

      await h.newExtractor().extract("impressions");
      const first = publishedVersions(await h.deltas(), "impressions").map((v) => Number(v.split("@")[0]));
      expect(first).toContain((idA ?? 0) + 1);
      expect(first).not.toContain(idA);

      await a.query("COMMIT");
      await h.newExtractor().extract("impressions");
      const ids = publishedVersions(await h.deltas(), "impressions").map((v) => Number(v.split("@")[0]));
      expect(ids.filter((id) => id === idA)).toHaveLength(1);
    } finally {
      await a.end();
      await b.end();
    }
  });

  test("a long open transaction holds the watermark back and nothing is skipped once it commits", async () => {
    const long = await connect();
    try {
      await long.query("BEGIN");
      const { rows } = await long.query<{ xid: string; id: string }>(
        "INSERT INTO clicks (campaign_id) VALUES ($1) RETURNING id, _xid::text AS xid",
        [campaignId],
      );
      const held = rows[0];
      const later = await rowsOf(
        `INSERT INTO clicks (campaign_id) SELECT ${campaignId} FROM generate_series(1, 5) RETURNING id`,
      );

      for (let i = 0; i < 3; i++) {
        const { results } = await h.newExtractor().extract("clicks");
        expect(BigInt(results[0]?.to ?? "0")).toBeLessThanOrEqual(BigInt(held?.xid ?? "0"));
      }
      const ids = () =>
        // Ids as text on both sides: node-postgres returns bigint as text.
        h.deltas().then((d) => publishedVersions(d, "clicks").map((v) => v.split("@")[0]));
      expect(await ids()).not.toContain(held?.id);

      await long.query("COMMIT");
      await h.newExtractor().extract("clicks");
      const published = await ids();
      for (const id of [held?.id, ...later.map((r) => r.id)])
        expect(published.filter((p) => p === id)).toHaveLength(1);
    } finally {
      await long.end();
    }
  });

  test("a long transaction in another database on the server does not hold the window back", async () => {
    const foreign = new pg.Client({ connectionString: testServerUrl });
    await foreign.connect();
    try {
      await foreign.query("BEGIN");
      const { rows } = await foreign.query<{ xid: string }>("SELECT pg_current_xact_id()::text AS xid");
      const [row] = await rowsOf(
        `INSERT INTO clicks (campaign_id) VALUES (${campaignId}) RETURNING id || '@' || _version AS v`,
      );
      const { results } = await h.newExtractor().extract("clicks");
      expect(BigInt(results[0]?.to ?? "0")).toBeGreaterThan(BigInt(rows[0]?.xid ?? "0"));
      expect(publishedVersions(await h.deltas(), "clicks")).toContain(row?.v);
    } finally {
      await foreign.query("ROLLBACK");
      await foreign.end();
    }
  });

  test("updates, deletes and truncates are published as upserts, tombstones and a truncate", async () => {
    const before = (await h.deltas()).length;
    const [imp] = await rowsOf(
      `INSERT INTO impressions (campaign_id, created_at) VALUES (${campaignId}, '2026-11-20 10:15:00.123456') RETURNING id`,
    );
    const [moved] = await rowsOf(
      `INSERT INTO impressions (campaign_id, created_at) VALUES (${campaignId}, '2026-11-21 08:00:00') RETURNING id`,
    );
    await h.newExtractor().extract();
    await h.pool.query("UPDATE campaign SET bid = 9.99, name = 'renamed' WHERE id = $1", [campaignId]);
    await h.pool.query("DELETE FROM impressions WHERE id = $1", [imp?.id]);
    // A move to another day: recorded as a delete of the old version, then the new one.
    await h.pool.query("UPDATE impressions SET created_at = '2026-11-22 09:30:00' WHERE id = $1", [
      moved?.id,
    ]);
    await h.pool.query("INSERT INTO clicks (campaign_id) VALUES ($1)", [campaignId]);
    await h.pool.query("TRUNCATE clicks");
    await h.newExtractor().extract();

    const deltas = (await h.deltas()).slice(before);
    const [campaign] = await rowsOf(`SELECT _version::text AS v FROM campaign WHERE id = ${campaignId}`);
    const campaignRows = deltas.filter((d) => d.table === "campaign").flatMap((d) => d.rows);
    expect(campaignRows.at(-1)).toMatchObject({
      id: String(campaignId),
      bid: "9.99",
      name: "renamed",
      _version: campaign?.v,
    });

    // A fact's tombstone names the campaign and time of the version it removes.
    const tombstones = deltas.filter((d) => d.table === "impressions" && d.kind === "delete");
    expect(tombstones[0]?.columns).toEqual([
      "id",
      "campaign_id",
      "created_at",
      "_version",
      "_xid",
      "_deleted",
    ]);
    const tombstone = (id: unknown, createdAt: string) => ({
      id: String(id),
      campaign_id: String(campaignId),
      created_at: createdAt,
      _version: expect.any(String),
      _xid: expect.any(String),
      _deleted: "1",
    });
    expect(tombstones.flatMap((d) => d.rows)).toEqual([
      tombstone(imp?.id, "2026-11-20 10:15:00.123456"),
      tombstone(moved?.id, "2026-11-21 08:00:00"),
    ]);
    const movedRows = deltas
      .filter((d) => d.table === "impressions" && d.kind === "upsert")
      .flatMap((d) => d.rows)
      .filter((r) => r.id === String(moved?.id));
    expect(movedRows.at(-1)).toMatchObject({
      campaign_id: String(campaignId),
      created_at: "2026-11-22 09:30:00",
    });

    const truncates = deltas.filter((d) => d.table === "clicks" && d.kind === "truncate");
    expect(truncates[0]?.columns).toEqual(["table_name", "_version", "_xid"]);
    expect(truncates.flatMap((d) => d.rows)).toMatchObject([{ table_name: "clicks" }]);
  });

  test("rows written with the original schema's column lists are picked up", async () => {
    const before = (await h.deltas()).length;
    const [adv] = await rowsOf(
      "INSERT INTO advertiser (name, updated_at, created_at) VALUES ('legacy', now(), now()) RETURNING id",
    );
    const [camp] = await rowsOf(
      `INSERT INTO campaign (name, bid, budget, start_date, end_date, advertiser_id, updated_at, created_at)
       VALUES ('old', 1.00, 50.00, '2026-01-01', '2026-12-31', ${adv?.id}, now(), now()) RETURNING id`,
    );
    await h.pool.query(`INSERT INTO impressions (campaign_id, created_at) VALUES (${camp?.id}, now())`);
    await h.pool.query(`INSERT INTO clicks VALUES (DEFAULT, ${camp?.id}, now())`); // positional, three columns
    await h.pool.query(`UPDATE campaign SET budget = 75.00, updated_at = now() WHERE id = ${camp?.id}`);
    await h.newExtractor().extract();

    const deltas = (await h.deltas()).slice(before);
    for (const table of ["advertiser", "campaign", "impressions", "clicks"] as const) {
      expect(publishedVersions(deltas, table).length).toBeGreaterThanOrEqual(1);
    }
    expect(deltas.find((d) => d.table === "campaign")?.rows.at(-1)).toMatchObject({
      id: String(camp?.id),
      budget: "75.00",
    });
  });

  test("a crash between publish and watermark store re-publishes the same window; JetStream drops the repeat", async () => {
    await h.pool.query(
      `INSERT INTO impressions (campaign_id) SELECT ${campaignId} FROM generate_series(1, 50)`,
    );
    const crashing = h.newExtractor(
      {
        afterPublish: () => {
          throw new Error("injected crash");
        },
      },
      { EXTRACT_MAX_BATCH_ROWS: "20" },
    );
    const crashed = (await crashing.extract("impressions")).results[0];
    expect(crashed).toMatchObject({ status: "failed", error: "injected crash" });
    const watermark = (await crashing.watermarks()).find((w) => w.table === "impressions");
    expect(watermark).toMatchObject({ xid: crashed?.from, pendingXid: crashed?.to });
    const stored = (await h.deltas()).length;

    const afterCrash = await rowsOf(
      `INSERT INTO impressions (campaign_id) VALUES (${campaignId}) RETURNING id`,
    );
    const retry = (await h.newExtractor(undefined, { EXTRACT_MAX_BATCH_ROWS: "20" }).extract("impressions"))
      .results[0];
    expect(retry).toMatchObject({
      status: "published",
      from: crashed?.from,
      to: crashed?.to,
      batches: 3,
      duplicates: 3,
    });
    expect((await h.deltas()).length).toBe(stored);

    await h.newExtractor().extract("impressions");
    const all = publishedVersions(await h.deltas(), "impressions");
    const current = await rowsOf("SELECT id || '@' || _version AS v FROM impressions");
    for (const { v } of current) expect(all.filter((p) => p === v)).toHaveLength(1);
    expect(all).toContain(
      `${afterCrash[0]?.id}@${(await rowsOf(`SELECT _version FROM impressions WHERE id = ${afterCrash[0]?.id}`))[0]?._version}`,
    );
  });

  test("a failure in the middle of a COPY stream releases the table and advances nothing", async () => {
    await h.pool.query(
      `INSERT INTO impressions (campaign_id) SELECT ${campaignId} FROM generate_series(1, 20000)`,
    );
    const before = (await h.newExtractor().watermarks()).find((w) => w.table === "impressions");
    const failing = h.newExtractor(
      {
        beforePublish: (_table, sequence) => {
          if (sequence === 3) throw new Error("publish failed mid-stream");
        },
      },
      { EXTRACT_MAX_BATCH_ROWS: "100" },
    );
    const { results } = await failing.extract("impressions");
    expect(results[0]).toMatchObject({ status: "failed", error: "publish failed mid-stream" });
    const after = (await h.newExtractor().watermarks()).find((w) => w.table === "impressions");
    expect(after?.xid).toBe(before?.xid ?? "");

    // The failed session is closed, not unlocked; the server drops its lock once it sees the
    // connection gone, which can take a moment while the backend is still sending COPY data.
    const retryExtractor = h.newExtractor(undefined, { EXTRACT_MAX_BATCH_ROWS: "100" });
    const retry = await waitFor(
      async () => {
        const [r] = (await retryExtractor.extract("impressions")).results;
        return r?.status !== "skipped" && r;
      },
      { what: "the failed session's lock to be released" },
    );
    // The same window again: the three batches that went out before the failure are dropped.
    expect(retry).toMatchObject({
      status: "published",
      from: before?.xid,
      to: after?.pendingXid ?? "",
      duplicates: 3,
    });
    expect(retry?.rows).toBeGreaterThanOrEqual(20000);
  });

  test("NATS unreachable: the cycle fails and nothing advances", async () => {
    await h.pool.query(`INSERT INTO impressions (campaign_id) VALUES (${campaignId})`);
    const before = (await h.newExtractor().watermarks()).find((w) => w.table === "impressions");
    const stored = (await h.deltas()).length;
    const closed = await connectNats({ url: natsUrl });
    await closed.close();
    const extractor = createExtractor({
      pool: h.pool,
      js: closed.jetstream(),
      maxPayload: 1024 * 1024,
      config: h.config,
      logger: createLogger("test", "silent"),
    });
    const { results } = await extractor.extract("impressions");
    expect(results[0]?.status).toBe("failed");
    const after = (await h.newExtractor().watermarks()).find((w) => w.table === "impressions");
    expect(after?.xid).toBe(before?.xid ?? "");
    const info = await (await h.nc.jetstreamManager()).streams.info(streams(h.namespace).delta);
    expect(info.state.messages).toBe(stored);
  });
});
