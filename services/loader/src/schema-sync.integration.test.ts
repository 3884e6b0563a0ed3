// The loader's side of schema changes (docs/schema-changes.md) against the embedded ClickHouse:
// columns added with their defaults, the _current view following, a safe widening, an unsafe
// type change refused with the column and both types, and two loaders converging.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestClickHouse, type TestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { type Column, tableSchema } from "@adpipe/shared/columns";
import type { SchemaChangedEvent } from "@adpipe/shared/messages/schema-changed";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
import { createSchemaSync, SchemaBlockedError } from "./schema-sync.ts";

let chs: TestClickHouse;

beforeAll(async () => {
  chs = await startTestClickHouse();
  await migrateOlap(chs.client, chs.database);
});
afterAll(async () => {
  await chs?.stop();
});

const FACT: Column[] = [
  { name: "id", type: "bigint", nullable: false },
  { name: "campaign_id", type: "bigint", nullable: true },
  { name: "created_at", type: "timestamp without time zone", nullable: true, default: "now()" },
];
const columnsOf = async (table: string) =>
  (
    await (
      await chs.client.query({
        query: `SELECT name, type, default_expression AS d FROM system.columns WHERE database = currentDatabase() AND table = '${table}' ORDER BY position`,
        format: "JSONEachRow",
      })
    ).json<{ name: string; type: string; d: string }>()
  ).map((c) => `${c.name} ${c.type}${c.d ? ` = ${c.d}` : ""}`);

describe("schema sync (services/loader/src/schema-sync.ts)", () => {
  test("adds what ClickHouse lacks with PostgreSQL's constant default, and the view follows", async () => {
    const events: SchemaChangedEvent[] = [];
    const sync = createSchemaSync({ clickhouse: chs.client, onChange: (e) => events.push(e) });
    await sync.ensure(
      "clicks",
      tableSchema([
        ...FACT,
        { name: "device", type: "text", nullable: true },
        { name: "cost", type: "numeric(12,4)", nullable: false, default: "0" },
        { name: "tier", type: "character varying(8)", nullable: false, default: "'gold'::character varying" },
      ]),
    );
    expect(await columnsOf("clicks_current")).toEqual([
      "id Int64",
      "campaign_id Nullable(Int64)",
      "created_at Nullable(DateTime64(6, 'UTC'))",
      "device Nullable(String)",
      "cost Decimal(12, 4)",
      "tier String",
    ]);
    expect((await columnsOf("clicks")).filter((c) => c.startsWith("cost") || c.startsWith("tier"))).toEqual([
      "cost Decimal(12, 4) = 0",
      "tier String = 'gold'",
    ]);
    expect(events.map((e) => `${e.change} ${e.column} ${e.to}`)).toEqual([
      "add_column device Nullable(String)",
      "add_column cost Decimal(12, 4)",
      "add_column tier String",
    ]);
    // The same schema again: nothing to do, nothing announced.
    await sync.ensure("clicks", tableSchema([...FACT, { name: "device", type: "text", nullable: true }]));
    expect(events).toHaveLength(3);
  });

  test("widens a column a safe type change needs, view included; refuses an unsafe one by name", async () => {
    const events: SchemaChangedEvent[] = [];
    const sync = createSchemaSync({ clickhouse: chs.client, onChange: (e) => events.push(e) });
    await sync.ensure(
      "impressions",
      tableSchema([...FACT, { name: "slot", type: "integer", nullable: true }]),
    );
    await sync.ensure(
      "impressions",
      tableSchema([...FACT, { name: "slot", type: "bigint", nullable: true }]),
    );
    expect((await columnsOf("impressions_current")).at(-1)).toBe("slot Nullable(Int64)");
    expect(events.map((e) => `${e.change} ${e.column} ${e.from ?? "-"} -> ${e.to}`)).toEqual([
      "add_column slot - -> Nullable(Int32)",
      "widen_column slot Nullable(Int32) -> Nullable(Int64)",
    ]);
    const unsafe = sync.ensure(
      "impressions",
      tableSchema([...FACT, { name: "slot", type: "date", nullable: true }]),
    );
    await expect(unsafe).rejects.toBeInstanceOf(SchemaBlockedError);
    await expect(unsafe).rejects.toThrow(
      "impressions.slot is date in PostgreSQL, which ClickHouse's Nullable(Int64) cannot hold (it needs Nullable(Date32))",
    );
    expect((await columnsOf("impressions_current")).at(-1)).toBe("slot Nullable(Int64)");
  });

  test("two loaders adding different columns at once converge: both in the table and the view", async () => {
    const a = createSchemaSync({ clickhouse: chs.client });
    const b = createSchemaSync({ clickhouse: chs.client });
    await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        (i % 2 ? a : b).ensure(
          "advertiser",
          tableSchema([
            { name: "id", type: "bigint", nullable: false },
            { name: "name", type: "character varying(255)", nullable: false },
            { name: `extra_${i}`, type: "text", nullable: true },
          ]),
        ),
      ),
    );
    const view = await columnsOf("advertiser_current");
    expect(view.filter((c) => c.startsWith("extra_")).sort()).toEqual(
      [0, 1, 2, 3].map((i) => `extra_${i} Nullable(String)`),
    );
    const table = (await columnsOf("advertiser")).filter((c) => !/^_(version|xid|deleted) /.test(c));
    expect(view).toEqual(table.map((c) => c.replace(/ = .*$/, "")));
  });
});
