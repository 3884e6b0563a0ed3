import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createOperations } from "@adpipe/generator";
import { createPipelineWorld, type PipelineWorld } from "@adpipe/reporter/testing";

// Each table read on both sides as canonical text, so PostgreSQL and ClickHouse compare exactly.
const TS = {
  pg: (c: string) => `to_char(${c}, 'YYYY-MM-DD HH24:MI:SS.US')`,
  ch: (c: string) => `formatDateTime(${c}, '%Y-%m-%d %H:%i:%S.%f')`,
};
const COLUMNS: Record<string, { pg: string[]; ch: string[] }> = {
  advertiser: {
    pg: ["id", "name", TS.pg("updated_at"), TS.pg("created_at")],
    ch: ["id", "name", TS.ch("updated_at"), TS.ch("created_at")],
  },
  campaign: {
    pg: [
      "id",
      "name",
      "bid::text",
      "budget::text",
      "start_date::text",
      "end_date::text",
      "advertiser_id",
      TS.pg("updated_at"),
      TS.pg("created_at"),
    ],
    ch: [
      "id",
      "name",
      "toDecimalString(bid, 2)",
      "toDecimalString(budget, 2)",
      "toString(start_date)",
      "toString(end_date)",
      "advertiser_id",
      TS.ch("updated_at"),
      TS.ch("created_at"),
    ],
  },
  impressions: {
    pg: ["id", "campaign_id", TS.pg("created_at")],
    ch: ["id", "campaign_id", TS.ch("created_at")],
  },
  clicks: { pg: ["id", "campaign_id", TS.pg("created_at")], ch: ["id", "campaign_id", TS.ch("created_at")] },
};

const line = (row: Record<string, unknown>) =>
  Object.values(row)
    .map((v) => (v === null ? "NULL" : String(v)))
    .join("|");

let p: PipelineWorld;

async function postgresRows(table: string): Promise<string[]> {
  const cols = COLUMNS[table]?.pg.map((c, i) => `${c} AS c${i}`).join(", ");
  const { rows } = await p.pool.query(`SELECT ${cols} FROM ${table} ORDER BY id`);
  return rows.map(line);
}

async function clickhouseRows(table: string): Promise<string[]> {
  const cols = COLUMNS[table]?.ch.map((c, i) => `${c} AS c${i}`).join(", ");
  const rs = await p.chs.client.query({
    query: `SELECT ${cols} FROM ${table}_current ORDER BY id`,
    format: "JSONEachRow",
  });
  return ((await rs.json()) as Record<string, unknown>[]).map(line);
}

async function expectSameRows() {
  for (const table of Object.keys(COLUMNS)) {
    const [pg, ch] = [await postgresRows(table), await clickhouseRows(table)];
    expect({ table, rows: ch.length }).toEqual({ table, rows: pg.length });
    expect(ch).toEqual(pg);
  }
}

beforeAll(async () => {
  p = await createPipelineWorld({ extractInBackground: false });
});
afterAll(async () => {
  await p?.close();
});

describe("generator → extractor → JetStream → loader → ClickHouse", () => {
  test("a batch arrives row for row", async () => {
    const ops = createOperations(p.pool);
    await ops.batch({ advertisers: 3, campaigns: 4, impressions: 500, ctr: 0.1 });
    await p.settle();
    await expectSameRows();
  });

  test("updates, deletes and more inserts arrive row for row", async () => {
    const ops = createOperations(p.pool);
    await p.pool.query(
      "UPDATE campaign SET bid = bid + 0.25, budget = 999.99, name = name || '_v2' WHERE id % 2 = 0",
    );
    await p.pool.query("UPDATE advertiser SET name = 'Renamed', updated_at = now() WHERE id = 2");
    await p.pool.query("DELETE FROM clicks WHERE id % 3 = 0");
    await p.pool.query("DELETE FROM impressions WHERE id % 7 = 0");
    await ops.impressions(1, 250);
    await ops.clicks(1, 0.2);
    // A whole campaign goes, children first.
    await p.pool.query("DELETE FROM clicks WHERE campaign_id = 5");
    await p.pool.query("DELETE FROM impressions WHERE campaign_id = 5");
    await p.pool.query("DELETE FROM campaign WHERE id = 5");
    await p.pool.query("UPDATE campaign SET end_date = end_date + 3 WHERE id = 6");
    await p.settle();
    await expectSameRows();
  });

  test("a reset empties ClickHouse's view of every table; new data after it arrives", async () => {
    const ops = createOperations(p.pool);
    await ops.reset();
    await p.settle();
    await expectSameRows();
    expect(await clickhouseRows("impressions")).toEqual([]);
    await ops.batch({ advertisers: 1, campaigns: 2, impressions: 100, ctr: 0.2 });
    await p.settle();
    await expectSameRows();
  });
});
