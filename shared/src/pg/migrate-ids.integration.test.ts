import { afterAll, beforeAll, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import pg from "pg";
import { createTestDatabase, type TestDatabase } from "../config/testing.ts";
import { migrateOltp, migrationsFolder } from "./migrate.ts";

// Migration 0012_ids_64_bit on a database written with the 32-bit schema: every row, version,
// transaction id, tombstone and bid-history row survives exactly, and afterwards the sequences
// hand out ids past 2^32 to clients that never name id.

const TABLES = ["advertiser", "campaign", "impressions", "clicks", "campaign_bids", "adpipe_deletion"];
const LAST_32_BIT = "0011_table_pause";

let db: TestDatabase;
let client: pg.Client;
let oldFolder: string;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query("SET client_min_messages = warning");
  // The migrations as they were before 0012: the same files, the journal cut after 0011.
  oldFolder = mkdtempSync(join(tmpdir(), "adpipe-drizzle-32-"));
  cpSync(migrationsFolder, oldFolder, { recursive: true });
  const journalPath = join(oldFolder, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8"));
  const cut = journal.entries.findIndex((e: { tag: string }) => e.tag === LAST_32_BIT);
  journal.entries = journal.entries.slice(0, cut + 1);
  writeFileSync(journalPath, JSON.stringify(journal));
});
afterAll(async () => {
  await client.end();
  await db.drop();
  rmSync(oldFolder, { recursive: true, force: true });
});

/** Every row of every table as PostgreSQL's text, in a fixed order. */
async function contents(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of TABLES) {
    const { rows } = await client.query<{ r: string }>(
      `SELECT t::text AS r FROM ${table} t ORDER BY t::text`,
    );
    out[table] = rows.map((r) => r.r);
  }
  return out;
}

const columnTypes = async () =>
  (
    await client.query<{ c: string }>(
      `SELECT table_name || '.' || column_name || ':' || data_type AS c FROM information_schema.columns
       WHERE table_schema = 'public' AND (column_name IN ('id', 'row_id') OR column_name LIKE '%\\_id' ESCAPE '\\')
         AND table_name = ANY($1) ORDER BY 1`,
      [TABLES],
    )
  ).rows.map((r) => r.c);

test("0012 widens every id to bigint and keeps the 32-bit schema's data exactly", async () => {
  await migrate(drizzle(client), { migrationsFolder: oldFolder });
  expect(await columnTypes()).toContain("impressions.id:integer");

  // Written as the original generator does (no ids named), then updated, moved and deleted.
  await client.query(`INSERT INTO advertiser (name) SELECT 'adv ' || g FROM generate_series(1, 3) g`);
  await client.query(
    `INSERT INTO campaign (name, bid, budget, advertiser_id, start_date)
     SELECT 'camp ' || g, 1.25 + g, 100, 1 + g % 3, DATE '2026-11-20' FROM generate_series(1, 6) g`,
  );
  await client.query(
    `INSERT INTO impressions (campaign_id, created_at)
     SELECT 1 + g % 6, TIMESTAMP '2026-11-20' + g * INTERVAL '1 minute' FROM generate_series(1, 500) g`,
  );
  await client.query(
    `INSERT INTO clicks (campaign_id, created_at)
     SELECT 1 + g % 6, TIMESTAMP '2026-11-20' + g * INTERVAL '3 minute' FROM generate_series(1, 50) g`,
  );
  // The largest id a 32-bit column holds, so the copy is checked at the old type's end.
  await client.query("INSERT INTO impressions (id, campaign_id, created_at) VALUES (2147483647, 2, now())");
  await client.query("UPDATE campaign SET bid = bid + 1 WHERE id IN (1, 2)");
  // A campaign without facts changes id (its bid history follows it).
  await client.query("INSERT INTO campaign (name, bid, budget) VALUES ('camp 7', 9, 90)");
  await client.query("UPDATE campaign SET id = 70 WHERE id = 7");
  await client.query("UPDATE impressions SET campaign_id = 3 WHERE id BETWEEN 10 AND 20");
  await client.query("DELETE FROM impressions WHERE id BETWEEN 100 AND 120");
  await client.query("DELETE FROM clicks WHERE id = 7");
  const before = await contents();
  expect(before.adpipe_deletion?.length).toBeGreaterThan(30);
  expect(before.campaign_bids?.length).toBe(9);

  await migrateOltp(db.url);

  expect(await columnTypes()).toEqual([
    "adpipe_deletion.campaign_id:bigint",
    "adpipe_deletion.row_id:bigint",
    "advertiser.id:bigint",
    "campaign.advertiser_id:bigint",
    "campaign.id:bigint",
    "campaign_bids.campaign_id:bigint",
    "campaign_bids.id:bigint",
    "clicks.campaign_id:bigint",
    "clicks.id:bigint",
    "impressions.campaign_id:bigint",
    "impressions.id:bigint",
  ]);
  expect(await contents()).toEqual(before);
  // Nothing was captured as a change: no new tombstone, no new version.
  const seqs = await client.query(
    `SELECT sequencename, data_type::text, max_value::text FROM pg_sequences
     WHERE schemaname = 'public' AND sequencename LIKE '%\\_id\\_seq' ESCAPE '\\' ORDER BY sequencename::text COLLATE "C"`,
  );
  expect(seqs.rows).toEqual(
    ["advertiser", "campaign_bids", "campaign", "clicks", "impressions"].map((t) => ({
      sequencename: `${t}_id_seq`,
      data_type: "bigint",
      max_value: "9223372036854775807",
    })),
  );
});

test("after 0012, ids past 2^32 come from the sequences and the triggers still record everything", async () => {
  for (const [table, at] of [
    ["advertiser", 3_000_000_000],
    ["campaign", 5_000_000_000],
    ["impressions", 9_000_000_000],
    ["clicks", 2 ** 53 - 100],
  ] as const)
    await client.query(`SELECT setval('${table}_id_seq', $1)`, [at]);
  const adv = await client.query<{ id: string }>("INSERT INTO advertiser (name) VALUES ('big') RETURNING id");
  expect(adv.rows[0]?.id).toBe("3000000001");
  const camp = await client.query<{ id: string }>(
    "INSERT INTO campaign (name, bid, budget, advertiser_id) VALUES ('big', 2.5, 10, $1) RETURNING id",
    [adv.rows[0]?.id],
  );
  const campaignId = camp.rows[0]?.id as string;
  expect(campaignId).toBe("5000000001");
  await client.query("INSERT INTO impressions (campaign_id) SELECT $1 FROM generate_series(1, 3)", [
    campaignId,
  ]);
  await client.query("INSERT INTO clicks (campaign_id) VALUES ($1)", [campaignId]);
  await client.query("UPDATE campaign SET bid = 3 WHERE id = $1", [campaignId]);
  await client.query("DELETE FROM impressions WHERE id = 9000000002");
  const bids = await client.query(
    "SELECT campaign_id::text, bid::text FROM campaign_bids WHERE campaign_id = $1 ORDER BY id",
    [campaignId],
  );
  expect(bids.rows).toEqual([
    { campaign_id: campaignId, bid: "2.50" },
    { campaign_id: campaignId, bid: "3.00" },
  ]);
  const tomb = await client.query(
    "SELECT row_id::text, campaign_id::text FROM adpipe_deletion WHERE table_name = 'impressions' AND row_id > 2147483647",
  );
  expect(tomb.rows).toEqual([{ row_id: "9000000002", campaign_id: campaignId }]);
  const clicks = await client.query("SELECT id::text FROM clicks WHERE campaign_id = $1", [campaignId]);
  expect(clicks.rows).toEqual([{ id: String(2 ** 53 - 99) }]);
});
