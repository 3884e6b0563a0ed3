import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import { startTestClickHouse, type TestClickHouse } from "./testing.ts";

/** `system.query_log` of the queries this server ran, for users with every right only. */
let ch: TestClickHouse;
let client: ClickHouseClient;
beforeAll(async () => {
  ch = await startTestClickHouse({
    users: {
      reader: {
        password: "reader-secret",
        readonly: 1,
        grants: [{ privilege: "SELECT", database: "*", table: "*" }],
      },
    },
  });
  client = createClient({ url: ch.url, username: ch.user, password: ch.password, database: ch.database });
});
afterAll(async () => {
  await client.close();
  await ch.stop();
});

interface LogRow {
  type: string;
  query: string;
  query_id: string;
  initial_query_id: string;
  user: string;
  query_duration_ms: string;
  read_rows: string;
  written_rows: string;
  result_rows: string;
  exception_code: number;
  exception: string;
  event_time: string;
}

async function logOf(queryId: string): Promise<LogRow[]> {
  const rs = await client.query({
    query: "SELECT * FROM system.query_log WHERE query_id = {id:String} ORDER BY type ASC",
    query_params: { id: queryId },
    format: "JSONEachRow",
  });
  return rs.json<LogRow>();
}

describe("system.query_log", () => {
  test("a SELECT, a DDL statement and an INSERT: QueryStart and QueryFinish, the SQL as the client sent it", async () => {
    const select = await client.query({ query: "SELECT number FROM numbers(144)", format: "JSON" });
    await select.json();
    const table = `logged_${crypto.randomUUID().replaceAll("-", "")}`;
    const exec = await client.exec({
      query: `CREATE TABLE ${table} (id String) ENGINE MergeTree ORDER BY id`,
    });
    exec.stream.destroy();
    const insert = await client.insert({ table, values: [{ id: "a" }, { id: "b" }], format: "JSONEachRow" });

    const selected = await logOf(select.query_id);
    expect(selected.map((r) => r.type)).toEqual(["QueryStart", "QueryFinish"]);
    expect(selected[1]).toMatchObject({
      query: "SELECT number FROM numbers(144) \nFORMAT JSON",
      query_id: select.query_id,
      initial_query_id: select.query_id,
      user: ch.user,
      result_rows: "144",
      exception_code: 0,
    });
    expect(Number(selected[1]?.query_duration_ms)).toBeGreaterThanOrEqual(0);
    const execd = await logOf(exec.query_id);
    expect(execd.map((r) => [r.type, r.query])).toEqual([
      ["QueryStart", `CREATE TABLE ${table} (id String) ENGINE MergeTree ORDER BY id`],
      ["QueryFinish", `CREATE TABLE ${table} (id String) ENGINE MergeTree ORDER BY id`],
    ]);
    const inserted = await logOf(insert.query_id);
    expect(inserted.map((r) => [r.type, r.query, r.written_rows])).toEqual([
      ["QueryStart", `INSERT INTO ${table} FORMAT JSONEachRow\n`, "0"],
      ["QueryFinish", `INSERT INTO ${table} FORMAT JSONEachRow\n`, "2"],
    ]);
    // The timestamps are the server's clock as ClickHouse shows DateTime (its time zone).
    const [now] = await (await client.query({ query: "SELECT now() AS t", format: "JSONEachRow" })).json<{
      t: string;
    }>();
    expect(Math.abs(Date.parse(`${selected[0]?.event_time}Z`) - Date.parse(`${now?.t}Z`))).toBeLessThan(
      60_000,
    );
  });

  test("a query the engine fails, and one refused before it ran, with their exceptions", async () => {
    const missingId = `m-${crypto.randomUUID()}`;
    const missing = await client
      .query({ query: "SELECT * FROM no_such_table", query_id: missingId })
      .catch((e) => e);
    expect(missing.code).toBe("60");
    const failed = await logOf(missingId);
    expect(failed.map((r) => [r.type, r.exception_code])).toEqual([
      ["QueryStart", 0],
      ["ExceptionWhileProcessing", 60],
    ]);
    expect(failed[1]?.exception).toContain("UNKNOWN_TABLE");
    const id = `s-${crypto.randomUUID()}`;
    const refused = await client
      .query({ query: "SELECT 1", query_id: id, clickhouse_settings: { no_such_setting: 1 } as never })
      .catch((e) => e);
    expect(refused.code).toBe("115");
    expect((await logOf(id)).map((r) => [r.type, r.exception_code])).toEqual([["ExceptionBeforeStart", 115]]);
  });

  test("a user without every right is refused (it holds every user's SQL); no snapshot is left behind", async () => {
    const reader = createClient({ url: ch.url, username: "reader", password: "reader-secret" });
    try {
      const denied = await reader.query({ query: "SELECT count() FROM system.query_log" }).catch((e) => e);
      expect(denied.code).toBe("497");
      expect(denied.message).toContain("system.query_log");
    } finally {
      await reader.close();
    }
    const spool = join(ch.dataDir, "http-spool");
    expect(readdirSync(spool).filter((f) => f.includes("query_log"))).toEqual([]);
  });
});
