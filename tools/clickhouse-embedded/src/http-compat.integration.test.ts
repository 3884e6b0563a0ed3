import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { waitFor } from "@adpipe/shared/testing";
import { createClient } from "@clickhouse/client";
import { startTestClickHouse, type TestClickHouse } from "./testing.ts";

/** What ordinary ClickHouse clients expect of a server (inserts, formats, compression, forms), beyond server.integration.test.ts. */
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

describe("compression", () => {
  const sql = "SELECT number FROM numbers(100000) FORMAT TSV";
  const expected = Array.from({ length: 100_000 }, (_, i) => `${i}\n`).join("");

  test("a response is compressed only when enable_http_compression=1 and the client accepts the method", async () => {
    const zlib = await import("node:zlib");
    const decoders: Record<string, (b: Buffer) => Buffer> = {
      gzip: zlib.gunzipSync,
      deflate: zlib.inflateSync,
      br: zlib.brotliDecompressSync,
      zstd: zlib.zstdDecompressSync,
    };
    for (const [encoding, decode] of Object.entries(decoders)) {
      const r = await post(
        sql,
        { enable_http_compression: "1" },
        // Bun's fetch would decode it itself; read the bytes as they came.
        { headers: { "Accept-Encoding": encoding }, decompress: false } as RequestInit,
      );
      expect(r.headers.get("content-encoding")).toBe(encoding);
      const raw = Buffer.from(await new Response(r.body).arrayBuffer());
      expect(raw.length).toBeLessThan(expected.length / 2);
      expect(decode(raw).toString()).toBe(expected);
    }
    const failed = await post("SELEC 1", { enable_http_compression: "1" }, {
      headers: { "Accept-Encoding": "gzip" },
      decompress: false,
    } as RequestInit);
    expect(failed.status).toBe(400);
    expect(failed.headers.get("content-encoding")).toBe("gzip");
    expect(zlib.gunzipSync(Buffer.from(await failed.arrayBuffer())).toString()).toContain("SYNTAX_ERROR");
    const plain = await post(sql, {}, { headers: { "Accept-Encoding": "gzip" } });
    expect(plain.headers.get("content-encoding")).toBeNull();
    expect(await plain.text()).toBe(expected);
  });

  test("@clickhouse/client with response and request compression", async () => {
    const client = createClient({
      url: ch.url,
      username: ch.user,
      password: ch.password,
      database: ch.database,
      compression: { request: true, response: true },
    });
    try {
      const rs = await client.query({ query: "SELECT number FROM numbers(100000)", format: "JSONEachRow" });
      expect(rs.response_headers["content-encoding"]).toBe("gzip");
      expect((await rs.json()).length).toBe(100_000);
      await client.insert({ table: "t", values: [{ a: 7, s: "zipped" }], format: "JSONEachRow" });
    } finally {
      await client.close();
    }
  });

  test("request bodies in zstd and br are read; an unknown encoding is refused clearly", async () => {
    const zlib = await import("node:zlib");
    for (const [encoding, encode] of [
      ["zstd", zlib.zstdCompressSync],
      ["br", zlib.brotliCompressSync],
    ] as const) {
      const body = encode(Buffer.from(`{"a":8,"s":"${encoding}"}\n`));
      const r = await post(
        body,
        { query: "INSERT INTO t FORMAT JSONEachRow" },
        { headers: { "Content-Encoding": encoding } },
      );
      expect(r.status).toBe(200);
      const q = await post(
        zlib.zstdCompressSync(Buffer.from(`SELECT s FROM t WHERE s = '${encoding}'`)),
        {},
        {
          headers: { "Content-Encoding": "zstd" },
        },
      );
      expect(await q.text()).toBe(`${encoding}\n`);
    }
    const lz = await post("SELECT 1", {}, { headers: { "Content-Encoding": "lz4" } });
    expect(lz.status).toBe(415);
    expect(await lz.text()).toContain('Content-Encoding "lz4" is not supported');
  });
});

describe("wait_end_of_query=1", () => {
  const spooled = () => readdirSync(join(ch.dataDir, "http-spool")).filter((f) => f.endsWith(".result"));

  test("past 1 MiB the answer waits on disk for the query's end, and the file goes when read", async () => {
    const sql = "SELECT number, toString(number) FROM numbers(1000000) FORMAT TSV";
    const plain = await (await post(sql)).text();
    const r = await post(sql, { wait_end_of_query: "1" });
    expect(r.status).toBe(200);
    // The query is over before the headers: the summary has every row.
    expect(JSON.parse(r.headers.get("x-clickhouse-summary") ?? "{}").result_rows).toBe("1000000");
    expect(spooled().length).toBe(1);
    expect(await r.text()).toBe(plain);
    await waitFor(() => spooled().length === 0, { what: "the spilled answer's file to go" });
  });

  test("an error after the first MiB is still an HTTP error, and nothing stays on disk", async () => {
    const r = await post("SELECT number, throwIf(number = 900000) FROM numbers(1000000) FORMAT TSV", {
      wait_end_of_query: "1",
      max_block_size: "10000",
    });
    expect(r.status).toBe(500);
    expect(r.headers.get("x-clickhouse-exception-code")).toBe("395");
    expect(await r.text()).toContain("FUNCTION_THROW_IF_VALUE_IS_NON_ZERO");
    expect(spooled()).toEqual([]);
  });
});

describe("multipart/form-data", () => {
  test("query and parameters in form fields, as the client sends long parameters", async () => {
    const ids = [...Array(3000).keys()];
    for (const options of [{ use_multipart_params: true }, { use_multipart_params_auto: true }]) {
      const client = createClient({ url: ch.url, username: ch.user, password: ch.password, ...options });
      try {
        const rs = await client.query({
          query: "SELECT count() FROM numbers(5000) WHERE number IN {ids:Array(UInt64)}",
          format: "CSV",
          query_params: { ids },
        });
        expect(await rs.text()).toBe("3000\n");
      } finally {
        await client.close();
      }
    }
    const form = new FormData();
    form.append("query", "SELECT {x:String} AS x, getSetting('max_threads') AS m FORMAT TSVRaw");
    form.append("param_x", "it's");
    form.append("max_threads", "3");
    const r = await post(form);
    expect(await r.text()).toBe("it's\t3\n");
  });

  test("a file field (external data) is refused, not ignored", async () => {
    const form = new FormData();
    form.append("query", "SELECT * FROM ext");
    form.append("ext", new Blob(["1\n2\n"]), "ext.tsv");
    const r = await post(form, { ext_structure: "x UInt8" });
    expect(r.status).toBe(501);
    expect(await r.text()).toContain("external data");
  });
});
