// ClickHouse least privilege (docs/security.md, "Who may do what"): each component's user may write only
// what it writes. Runs against the embedded server, which enforces olap-roles.ts in its HTTP
// layer; every call here is plain @clickhouse/client, so the same assertions hold on a server
// given compose/clickhouse-init.sh's users (the same olap-roles.ts, rendered as SQL).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Readable } from "node:stream";
import { startTestClickHouse, type TestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { uniqueName } from "../config/testing.ts";
import { UPSERT_COLUMNS } from "../contract.ts";
import { type ClickHouseClient, ClickHouseError, createClickHouse } from "./clickhouse.ts";
import { currentViewSql } from "./current-view.ts";
import { migrateOlap } from "./olap-migrate.ts";
import {
  BUCKET_TABLES,
  ENTITY_TABLES,
  embeddedOlapUsers,
  KEYED_TABLES,
  OLAP_USERS,
  type OlapUser,
  olapUserName,
  olapUsersSql,
  REPORT_TABLES,
  VERIFIER_PURGE_TABLES,
} from "./olap-roles.ts";

const database = uniqueName("olap_roles");
const passwords = Object.fromEntries(OLAP_USERS.map((u) => [u, `${u}-${crypto.randomUUID()}`])) as Record<
  OlapUser,
  string
>;

let ch: TestClickHouse;
const clients: ClickHouseClient[] = [];
const as = (user: OlapUser) => {
  const client = createClickHouse({
    url: ch.url,
    user: olapUserName(user),
    password: passwords[user],
    database,
  });
  clients.push(client);
  return client;
};

beforeAll(async () => {
  ch = await startTestClickHouse({ users: embeddedOlapUsers(database, passwords) });
  // Migrations run as the owner.
  await migrateOlap(ch.connect(), database);
});
afterAll(async () => {
  for (const c of clients) await c.close();
  const owner = ch.connect();
  for (const db of [`${database}_seed`, database])
    await owner.command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await ch.stop();
});

/** "ok", or the error code and name ClickHouse answered with. */
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (err) => (err instanceof ClickHouseError ? `${err.code} ${err.type}` : String(err)),
  );

/** One advertiser row as the loader inserts it: COPY text bytes, TabSeparated, the contract's columns. */
const insertAdvertiser = (client: ClickHouseClient, id: number) =>
  client.insert({
    table: "advertiser",
    values: Readable.from([`${id}\tAdvertiser ${id}\t\\N\t\\N\t1\t1\n`], { objectMode: false }),
    format: "TabSeparated",
    columns: [...UPSERT_COLUMNS.advertiser] as [string, ...string[]],
  });
const insertReportRow = (client: ClickHouseClient) =>
  client.command({
    query:
      "INSERT INTO advertiser_campaigns_clicks (campaign_id, date, advertiser_id, clicks, _version) SELECT 1, today(), 1, count(), 1 FROM clicks_current",
  });
/** Rows inserted as JSONEachRow. */
const insertRows = (client: ClickHouseClient, table: string, values: Record<string, unknown>[]) =>
  client.insert({ table, format: "JSONEachRow", values });
/** A query's rows, as JSONEachRow gives them. */
const rowsOf = async <T = unknown>(client: ClickHouseClient, query: string) =>
  (await client.query({ query, format: "JSONEachRow" })).json<T>();
const countOf = async (table: string) =>
  Number((await rowsOf<{ n: string }>(ch.connect(database), `SELECT count() AS n FROM ${table}`))[0]?.n);

describe("ClickHouse users (shared/src/clickhouse/olap-roles.ts)", () => {
  test("the read-only user reads and fails to insert", async () => {
    const reader = as("reader");
    expect(await rowsOf(reader, "SELECT count() AS n FROM impressions_current")).toEqual([{ n: "0" }]);
    expect(
      await rowsOf(reader, `SELECT count() AS n FROM ${database}_seed.advertiser_campaigns_totals_report`),
    ).toEqual([{ n: "0" }]);
    expect(await outcome(insertAdvertiser(reader, 1))).toBe("497 ACCESS_DENIED");
    expect(
      await outcome(reader.command({ query: "INSERT INTO impressions (id, _version, _xid) SELECT 1, 1, 1" })),
    ).toBe("497 ACCESS_DENIED");
    // Nothing else that writes either (a server answers 497 here too; the embedded one's engine says READONLY).
    expect(await outcome(reader.command({ query: "TRUNCATE TABLE impressions" }))).toMatch(/^(497|164) /);
    expect(await countOf("advertiser")).toBe(0);
    // readonly = 2, as Tabix needs: it may change settings, but not `readonly` itself.
    const tabix = await reader.query({
      query: "SELECT 1 AS x",
      format: "JSONEachRow",
      clickhouse_settings: { add_http_cors_header: 1, max_execution_time: 30 },
    });
    expect(await tabix.json()).toEqual([{ x: 1 }]);
    expect(await outcome(reader.query({ query: "SELECT 1 SETTINGS readonly = 0" }))).toBe("164 READONLY");
    // Nor the machine's files (the other users' passwords sit in bun start's state folder).
    expect(
      await outcome(reader.query({ query: "SELECT * FROM file('/etc/hostname', 'LineAsString')" })),
    ).toBe("497 ACCESS_DENIED");
  });

  test("the loader's user inserts into the entity tables and fails to write a report table", async () => {
    const loader = as("loader");
    expect(await outcome(insertAdvertiser(loader, 1))).toBe("ok");
    expect(await countOf("advertiser")).toBe(1);
    expect(
      await outcome(
        insertRows(loader, "loaded_batches", [
          { table_name: "advertiser", batch_id: "b1", kind: "upsert", from_xid: 1, to_xid: 2, rows: 1 },
        ]),
      ),
    ).toBe("ok");
    expect(await outcome(insertReportRow(loader))).toBe("497 ACCESS_DENIED");
    expect(
      await outcome(
        insertRows(loader, "advertiser_campaigns_totals_report", [{ campaign_id: 1, _version: 1 }]),
      ),
    ).toBe("497 ACCESS_DENIED");
    expect(await outcome(loader.command({ query: "ALTER TABLE impressions DELETE WHERE 1" }))).toMatch(
      /^(497|164) /,
    );
    expect(await countOf("advertiser_campaigns_clicks")).toBe(0);
    expect(await countOf("advertiser_campaigns_totals_report")).toBe(0);
  });

  test("the loader's user adds and widens columns and recreates _current views, and nothing more", async () => {
    const loader = as("loader");
    expect(
      await outcome(
        loader.command({
          query: "ALTER TABLE campaign ADD COLUMN IF NOT EXISTS status String DEFAULT 'active'",
        }),
      ),
    ).toBe("ok");
    expect(
      await outcome(loader.command({ query: "ALTER TABLE campaign ADD COLUMN note Nullable(Int32)" })),
    ).toBe("ok");
    expect(
      await outcome(loader.command({ query: "ALTER TABLE campaign MODIFY COLUMN note Nullable(Int64)" })),
    ).toBe("ok");
    const view = currentViewSql(database, "campaign", [
      ...UPSERT_COLUMNS.campaign.filter((c) => !c.startsWith("_")),
      "status",
    ]);
    expect(await outcome(loader.command({ query: view }))).toBe("ok");
    expect(await rowsOf(loader, "SELECT status FROM campaign_current")).toEqual([]);
    // Not a column drop, not another table's columns, not a view of its own, not a table.
    for (const query of [
      "ALTER TABLE campaign DROP COLUMN note",
      "ALTER TABLE campaign ADD COLUMN x String, DROP COLUMN note",
      "ALTER TABLE advertiser_campaigns_totals_report ADD COLUMN x String",
      `CREATE OR REPLACE VIEW ${database}.campaign_view AS SELECT 1`,
      `CREATE OR REPLACE VIEW ${database}.advertiser_campaigns AS SELECT 1`,
      `CREATE TABLE ${database}.campaign_current2 (a Int8) ENGINE = Memory`,
      `DROP VIEW ${database}.campaign_current`,
    ])
      expect({ query, outcome: await outcome(loader.command({ query })) }).toEqual({
        query,
        outcome: expect.stringMatching(/^(497|164) /),
      });
    // The reporter holds none of it.
    expect(
      await outcome(as("reporter").command({ query: "ALTER TABLE campaign ADD COLUMN y String" })),
    ).toMatch(/^(497|164) /);
  });

  test("the reporter's user rebuilds the report tables and fails to write an entity table", async () => {
    const reporter = as("reporter");
    expect(await outcome(insertReportRow(reporter))).toBe("ok");
    expect(await countOf("advertiser_campaigns_clicks")).toBe(1);
    expect(
      await outcome(
        insertRows(reporter, "reported_batches", [
          { table_name: "advertiser", batch_id: "b1", to_xid: 2, version: 1 },
        ]),
      ),
    ).toBe("ok");
    const before = await countOf("advertiser");
    expect(await outcome(insertAdvertiser(reporter, 2))).toBe("497 ACCESS_DENIED");
    expect(
      await outcome(
        reporter.command({ query: "INSERT INTO impressions (id, _version, _xid) SELECT 1, 1, 1" }),
      ),
    ).toBe("497 ACCESS_DENIED");
    expect(await outcome(reporter.command({ query: "TRUNCATE TABLE advertiser_campaigns_clicks" }))).toMatch(
      /^(497|164) /,
    );
    expect(await countOf("advertiser")).toBe(before);
  });

  test("the extractor's (verifier's) user reads, inserts nothing, and deletes only forged versions' tables", async () => {
    const extractor = as("extractor");
    expect(await rowsOf(extractor, "SELECT count() AS n FROM advertiser FINAL")).toEqual([{ n: "1" }]);
    expect(await outcome(insertAdvertiser(extractor, 3))).toBe("497 ACCESS_DENIED");
    expect(await outcome(insertReportRow(extractor))).toBe("497 ACCESS_DENIED");
    // The verifier's purge (docs/verifier.md): a lightweight DELETE on the replicated tables and
    // the keyed fact copies, nowhere else, and no mutation.
    const del = (query: string) =>
      outcome(extractor.command({ query, clickhouse_settings: { lightweight_deletes_sync: "2" } }));
    for (const table of VERIFIER_PURGE_TABLES)
      expect([table, await del(`DELETE FROM ${table} WHERE id = -1`)]).toEqual([table, "ok"]);
    expect(await del("DELETE FROM advertiser_campaigns_totals_report WHERE campaign_id = -1")).toMatch(
      /^(497|164) /,
    );
    expect(await del("ALTER TABLE advertiser DELETE WHERE id = -1")).toMatch(/^(497|164) /);
    expect(await rowsOf(extractor, "SELECT count() AS n FROM advertiser FINAL")).toEqual([{ n: "1" }]);
    expect(await outcome(as("loader").command({ query: "DELETE FROM advertiser WHERE 1" }))).toMatch(
      /^(497|164) /,
    );
  });

  test("the grants name every table the migrations create, and the server SQL parses", async () => {
    const tables = await ch
      .connect()
      .query({
        query: "SELECT name FROM system.tables WHERE database = {db:String} AND engine LIKE '%MergeTree'",
        query_params: { db: database },
        format: "JSONEachRow",
      })
      .then((r) => r.json<{ name: string }>())
      .then((rows) => rows.map((r) => r.name).sort());
    expect(tables).toEqual(
      [
        ...ENTITY_TABLES,
        ...REPORT_TABLES,
        ...BUCKET_TABLES,
        ...KEYED_TABLES,
        "loaded_batches",
        "reported_batches",
        "schema_migrations",
      ].sort(),
    );
    // CREATE USER needs a server's access storage; its parser is the engine's, so check the syntax here.
    for (const statement of olapUsersSql(database, passwords)) {
      const rs = await ch.connect().query({
        query: "SELECT formatQuerySingleLine({q:String}) AS f",
        query_params: { q: statement },
        format: "JSONEachRow",
      });
      expect((await rs.json<{ f: string }>())[0]?.f).toStartWith(statement.split(" ")[0] as string);
    }
  });
});
