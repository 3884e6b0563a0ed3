import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Readable } from "node:stream";
import { createClient } from "@clickhouse/client";
import { startTestClickHouse, type TestClickHouse } from "./testing.ts";

/** What ordinary ClickHouse clients expect of a server, beyond the basics of server.integration.test.ts. */
let ch: TestClickHouse;
let auth: string;
beforeAll(async () => {
  ch = await startTestClickHouse();
  auth = `Basic ${Buffer.from(`${ch.user}:${ch.password}`).toString("base64")}`;
  await ch.client.command({ query: "CREATE TABLE t (a UInt32, s String) ENGINE = MergeTree ORDER BY a" });
});
afterAll(() => ch.stop());

/** A raw request to the server as the owner, in the test's database. */
function post(
  body: string | Uint8Array | ReadableStream | FormData | null,
  params: Record<string, string> = {},
  init: RequestInit = {},
) {
  const url = new URL(ch.url);
  url.searchParams.set("database", ch.database);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return fetch(url, {
    method: "POST",
    body,
    ...init,
    headers: { Authorization: auth, ...(init.headers as Record<string, string>) },
  });
}

describe("inserts", () => {
  test("an INSERT with an empty body inserts nothing and succeeds, through the client and raw", async () => {
    const empty = await ch.client.insert({
      table: "t",
      values: Readable.from([]),
      format: "JSONEachRow",
    });
    const emptyCsv = await ch.client.insert({
      table: "t",
      values: Readable.from([Buffer.alloc(0)], { objectMode: false }),
      format: "CSV",
    });
    expect(emptyCsv.summary?.written_rows).toBe("0");
    expect(empty.executed).toBe(true);
    expect(empty.summary?.written_rows).toBe("0");
    const raw = await post("", { query: "INSERT INTO t FORMAT JSONEachRow" });
    expect(raw.status).toBe(200);
    const inBody = await post("INSERT INTO t FORMAT JSONEachRow");
    expect(inBody.status).toBe(200);
    expect(await inBody.text()).toBe("");
  });
});

describe("output formats", () => {
  test("Content-Type per format, as clickhouse-server sends it", async () => {
    const types: Record<string, string> = {
      JSONEachRow: "application/x-ndjson; charset=UTF-8",
      JSONCompactEachRow: "application/x-ndjson; charset=UTF-8",
      JSON: "application/json; charset=UTF-8",
      TabSeparated: "text/tab-separated-values; charset=UTF-8",
      CSV: "text/csv; charset=UTF-8; header=absent",
      CSVWithNames: "text/csv; charset=UTF-8; header=present",
      RowBinary: "application/octet-stream",
      Pretty: "text/plain; charset=UTF-8",
    };
    for (const [format, type] of Object.entries(types)) {
      const rs = await ch.client.query({ query: "SELECT 1 AS x", format: format as "JSON" });
      await rs.text();
      expect([format, rs.response_headers["content-type"]]).toEqual([format, type]);
    }
  });

  test("JSON with totals and a limit is one valid document: one meta, totals, rows_before_limit_at_least, statistics", async () => {
    const rs = await ch.client.query({
      query:
        "SELECT number % 3 AS k, count() AS c FROM numbers(300000) GROUP BY k WITH TOTALS ORDER BY k LIMIT 2 SETTINGS max_block_size = 1000",
      format: "JSON",
    });
    const doc = JSON.parse(await rs.text());
    expect(doc.meta).toEqual([
      { name: "k", type: "UInt8" },
      { name: "c", type: "UInt64" },
    ]);
    expect(doc.data).toEqual([
      { k: 0, c: "100000" },
      { k: 1, c: "100000" },
    ]);
    expect(doc.totals).toEqual({ k: 0, c: "300000" });
    expect(doc.rows).toBe(2);
    expect(doc.rows_before_limit_at_least).toBe(3);
    expect(Object.keys(doc.statistics).sort()).toEqual(["bytes_read", "elapsed", "rows_read"]);
    const compact = await ch.client
      .query({
        query: "SELECT number FROM numbers(250000) SETTINGS max_block_size = 1000",
        format: "JSONCompact",
      })
      .then((r) => r.json<{ data: unknown[]; rows: number; meta: unknown[] }>());
    expect(compact.rows).toBe(250_000);
    expect(compact.data.length).toBe(250_000);
  });

  test("headers come once in a long streamed result (WithNames, WithNamesAndTypes, RowBinaryWithNamesAndTypes)", async () => {
    const sql = "SELECT number AS n FROM numbers(300000) SETTINGS max_block_size = 1000";
    const csv = await (await post(`${sql} FORMAT CSVWithNames`)).text();
    expect(csv.split("\n").filter((l) => l === '"n"').length).toBe(1);
    expect(csv.split("\n").length).toBe(300_002);
    const tsv = await (await post(`${sql} FORMAT TSVWithNamesAndTypes`)).text();
    expect(tsv.startsWith("n\nUInt64\n0\n1\n")).toBe(true);
    expect(tsv.split("\n").length).toBe(300_003);
    const bin = new Uint8Array(await (await post(`${sql} FORMAT RowBinaryWithNamesAndTypes`)).arrayBuffer());
    // 1 column, "n", "UInt64", then 300,000 little-endian UInt64 values.
    const header = [1, 1, ..."n".split("").map((c) => c.charCodeAt(0)), 6, ...Buffer.from("UInt64")];
    expect([...bin.subarray(0, header.length)]).toEqual(header);
    expect(bin.byteLength).toBe(header.length + 300_000 * 8);
    const view = new DataView(bin.buffer, bin.byteOffset + header.length);
    expect(view.getBigUint64((300_000 - 1) * 8, true)).toBe(299_999n);
  });

  test("a Parquet result is one file", async () => {
    const r = await post("SELECT number FROM numbers(300000) SETTINGS max_block_size = 1000 FORMAT Parquet");
    const bytes = Buffer.from(await r.arrayBuffer());
    expect(bytes.subarray(0, 4).toString()).toBe("PAR1");
    expect(bytes.subarray(-4).toString()).toBe("PAR1");
    expect(bytes.indexOf("PAR1", 4)).toBe(bytes.length - 4);
  });
});

export { createClient, post };
