import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestClickHouse, type TestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import type { ClickHouseClient } from "@clickhouse/client";
import { uniqueName } from "../config/testing.ts";
import { renderForCluster } from "./olap-cluster.ts";
import { loadOlapMigrations, migrateOlap, OLAP_MIGRATIONS_TABLE } from "./olap-migrate.ts";

// ON CLUSTER statements cannot run without a cluster and Keeper; ClickHouse's own parser
// (formatQuery in the embedded engine) still checks every rendered statement is valid SQL.

let ch: TestClickHouse;
beforeAll(async () => {
  ch = await startTestClickHouse();
});
afterAll(() => ch.stop());

test("every rendered migration statement parses in ClickHouse, ON CLUSTER and replicated", async () => {
  const statements = [
    "CREATE DATABASE IF NOT EXISTS {database}",
    `CREATE TABLE IF NOT EXISTS {database}.${OLAP_MIGRATIONS_TABLE} (version UInt32) ENGINE = ReplacingMergeTree ORDER BY version`,
    ...loadOlapMigrations().flatMap((m) => m.statements),
  ];
  for (const statement of statements) {
    const query = renderForCluster(statement, "adpipe").replaceAll("{database}", "adpipe");
    const formatted = await ch.client
      .query({
        query: "SELECT formatQuery({q:String}) AS f",
        query_params: { q: query },
        format: "JSONEachRow",
      })
      .then((r) => r.json<{ f: string }>())
      .then((rows) => rows[0]?.f ?? "");
    // A copy runs once, on one replica (olap-cluster.ts): it parses, without ON CLUSTER.
    if (/^INSERT\s+INTO\s/i.test(statement)) expect(formatted).toStartWith("INSERT INTO adpipe.");
    else expect(formatted).toContain("ON CLUSTER adpipe");
    if (/MergeTree/.test(statement))
      expect(formatted).toMatch(
        /ENGINE = Replicated\w*MergeTree\('\/clickhouse\/tables\/\{shard\}\/adpipe\/\{table\}', '\{replica\}'/,
      );
  }
});

test("without a cluster name the migrator sends the files' statements byte for byte", async () => {
  const sent: string[] = [];
  const recording = new Proxy(ch.connect(), {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (key !== "command") return typeof value === "function" ? value.bind(target) : value;
      return (params: { query: string }) => {
        sent.push(params.query);
        return target.command(params);
      };
    },
  }) as ClickHouseClient;
  const database = uniqueName("adpipe_bytes");
  try {
    await migrateOlap(recording, database);
    const files = loadOlapMigrations().flatMap((m) =>
      m.statements.map((s) => s.replaceAll("{database}", database)),
    );
    expect(sent.slice(2)).toEqual(files);
    expect(sent[0]).toBe(`CREATE DATABASE IF NOT EXISTS ${database}`);
    expect(sent[1]).toContain("ENGINE = ReplacingMergeTree(applied_at)");
    expect(sent.join("\n")).not.toContain("ON CLUSTER");
  } finally {
    await ch.client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
  }
});
