import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pg from "pg";
import { createTestDatabase, type TestDatabase } from "../config/testing.ts";
import { migrateOltp } from "./migrate.ts";

let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client.end();
  await db.drop();
});

describe("OLTP migrations", () => {
  test("apply to an empty database and again as a no-op", async () => {
    await migrateOltp(db.url);
    const first = await client.query("SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations");
    await migrateOltp(db.url);
    const second = await client.query("SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations");
    expect(first.rows[0].n).toBeGreaterThanOrEqual(4);
    expect(second.rows[0].n).toBe(first.rows[0].n);
  });

  test("keep the original column names and types, ids 64-bit (migration 0012)", async () => {
    const { rows } = await client.query(`
      SELECT table_name, column_name, data_type, numeric_precision, numeric_scale, character_maximum_length
      FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name IN ('advertiser', 'campaign', 'impressions', 'clicks')
        AND column_name NOT LIKE '\\_%'
      ORDER BY table_name, ordinal_position`);
    const shape = rows.map((r) => `${r.table_name}.${r.column_name}:${r.data_type}`);
    expect(shape).toEqual([
      "advertiser.id:bigint",
      "advertiser.name:character varying",
      "advertiser.updated_at:timestamp without time zone",
      "advertiser.created_at:timestamp without time zone",
      "campaign.id:bigint",
      "campaign.name:character varying",
      "campaign.bid:numeric",
      "campaign.budget:numeric",
      "campaign.start_date:date",
      "campaign.end_date:date",
      "campaign.advertiser_id:bigint",
      "campaign.updated_at:timestamp without time zone",
      "campaign.created_at:timestamp without time zone",
      "clicks.id:bigint",
      "clicks.campaign_id:bigint",
      "clicks.created_at:timestamp without time zone",
      "impressions.id:bigint",
      "impressions.campaign_id:bigint",
      "impressions.created_at:timestamp without time zone",
    ]);
    const bid = rows.find((r) => r.table_name === "campaign" && r.column_name === "bid");
    expect([bid.numeric_precision, bid.numeric_scale]).toEqual([10, 2]);
    const serial = await client.query(
      "SELECT pg_get_serial_sequence('impressions', 'id') AS seq, pg_get_serial_sequence('advertiser', 'id') AS adv",
    );
    expect(serial.rows[0]).toEqual({ seq: "public.impressions_id_seq", adv: "public.advertiser_id_seq" });
  });

  test("a client written for the original schema works unchanged", async () => {
    // The statements the original seed.py runs, with its column lists.
    const adv = await client.query(
      "INSERT INTO advertiser (name, updated_at) VALUES ($1, NOW()) RETURNING id",
      ["Advertiser A"],
    );
    const camp = await client.query(
      `INSERT INTO campaign (name, bid, budget, start_date, end_date, advertiser_id, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, NOW()) RETURNING id`,
      ["Campaign_1_1", 1.25, 120.5, "2026-11-24", "2026-12-10", adv.rows[0].id],
    );
    await client.query("INSERT INTO impressions (campaign_id, created_at) VALUES ($1, $2)", [
      camp.rows[0].id,
      "2026-11-20 10:00:00",
    ]);
    await client.query("INSERT INTO clicks (campaign_id, created_at) VALUES ($1, $2)", [
      camp.rows[0].id,
      "2026-11-20 10:00:30",
    ]);
    const { rows } = await client.query(
      "SELECT c.bid::text, count(i.id)::int AS imps FROM campaign c JOIN impressions i ON i.campaign_id = c.id GROUP BY c.bid",
    );
    expect(rows).toEqual([{ bid: "1.25", imps: 1 }]);
  });

  test("updates take a new version; deletes and truncates are recorded", async () => {
    const before = await client.query("SELECT id, _version FROM campaign ORDER BY id LIMIT 1");
    const { id, _version } = before.rows[0];
    await client.query("UPDATE campaign SET bid = 2.00 WHERE id = $1", [id]);
    const after = await client.query("SELECT _version FROM campaign WHERE id = $1", [id]);
    expect(BigInt(after.rows[0]._version)).toBeGreaterThan(BigInt(_version));

    await client.query("DELETE FROM clicks");
    await client.query("TRUNCATE impressions");
    const log = await client.query("SELECT table_name, row_id FROM adpipe_deletion ORDER BY _version");
    expect(log.rows.map((r) => [r.table_name, r.row_id === null])).toEqual([
      ["clicks", false],
      ["impressions", true],
    ]);
  });
});
