import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pg from "pg";
import { createTestDatabase, type TestDatabase, uniqueName } from "../config/testing.ts";
import { ensureLoginUser, PG_GROUPS } from "./pg-roles.ts";

let db: TestDatabase;
let owner: pg.Client;
const users = { generator: uniqueName("gen").toLowerCase(), extractor: uniqueName("ext").toLowerCase() };
const clients: pg.Client[] = [];

async function connectAs(user: string, password: string) {
  const url = new URL(db.url);
  url.username = user;
  url.password = password;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  clients.push(client);
  return client;
}
const refused = async (client: pg.Client, sql: string) =>
  client.query(sql).then(
    () => "allowed",
    (err: { code?: string }) => err.code,
  );

beforeAll(async () => {
  db = await createTestDatabase();
  owner = new pg.Client({ connectionString: db.url });
  await owner.connect();
  await ensureLoginUser(owner, users.generator, "gen-secret", PG_GROUPS.generator);
  await ensureLoginUser(owner, users.extractor, "ext-secret", PG_GROUPS.extractor);
  await owner.query(
    "INSERT INTO advertiser (name) VALUES ('A'); INSERT INTO campaign (advertiser_id, name, bid, budget, start_date, end_date) SELECT id, 'C', 1, 10, CURRENT_DATE, CURRENT_DATE + 7 FROM advertiser",
  );
});
afterAll(async () => {
  for (const c of clients) await c.end().catch(() => {});
  await owner.end();
  await db.drop();
  const server = new pg.Client({ connectionString: db.url.replace(/\/[^/]*$/, "/postgres") });
  await server.connect();
  for (const user of Object.values(users)) await server.query(`DROP ROLE IF EXISTS "${user}"`);
  await server.end();
});

describe("PostgreSQL roles (migration 0006)", () => {
  test("the extractor's role reads the source tables and cannot write them", async () => {
    const ext = await connectAs(users.extractor, "ext-secret");
    expect((await ext.query("SELECT count(*)::int AS n FROM campaign")).rows[0].n).toBe(1);
    expect(await refused(ext, "INSERT INTO impressions (campaign_id) SELECT id FROM campaign")).toBe("42501");
    expect(await refused(ext, "DELETE FROM impressions")).toBe("42501");
    expect(await refused(ext, "TRUNCATE impressions")).toBe("42501");
    expect(await refused(ext, "UPDATE campaign SET name = 'x'")).toBe("42501");
    expect(await refused(ext, "CREATE TABLE sneaky (id int)")).toBe("42501");
    // Its own bookkeeping it may write.
    expect(
      await refused(
        ext,
        "INSERT INTO adpipe_watermark (table_name, xid) VALUES ('campaign', '0') ON CONFLICT (table_name) DO UPDATE SET xid = EXCLUDED.xid",
      ),
    ).toBe("allowed");
  });

  test("the generator's role writes the source tables (deletes recorded by the triggers), nothing else", async () => {
    const gen = await connectAs(users.generator, "gen-secret");
    expect(await refused(gen, "INSERT INTO impressions (campaign_id) SELECT id FROM campaign")).toBe(
      "allowed",
    );
    expect(await refused(gen, "UPDATE campaign SET name = 'renamed'")).toBe("allowed");
    expect(await refused(gen, "DELETE FROM impressions")).toBe("allowed");
    expect(await refused(gen, "TRUNCATE clicks")).toBe("allowed");
    expect((await owner.query("SELECT count(*)::int AS n FROM adpipe_deletion")).rows[0].n).toBeGreaterThan(
      0,
    );
    expect(await refused(gen, "SELECT * FROM adpipe_deletion")).toBe("42501");
    expect(await refused(gen, "UPDATE adpipe_watermark SET xid = '0'")).toBe("42501");
  });
});
