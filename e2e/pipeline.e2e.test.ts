import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createOperations } from "@adpipe/generator";
import { createPipelineWorld, type PipelineWorld } from "@adpipe/testing";
import {
  clickhouseEntityRows,
  compareEntities,
  ENTITY_COLUMNS,
  type EntityColumns,
  TS,
} from "@adpipe/testing/truth";

// The reporter's entity comparison, with the campaign timestamps compared too.
const COLUMNS: EntityColumns = {
  ...ENTITY_COLUMNS,
  campaign: {
    pg: [...ENTITY_COLUMNS.campaign.pg, TS.pg("updated_at"), TS.pg("created_at")],
    ch: [...ENTITY_COLUMNS.campaign.ch, TS.ch("updated_at"), TS.ch("created_at")],
  },
};

let p: PipelineWorld;

const clickhouseRows = (table: string) => clickhouseEntityRows(p.chs.client, table, COLUMNS);
const expectSameRows = () => compareEntities(p.pool, p.chs.client, COLUMNS);

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
