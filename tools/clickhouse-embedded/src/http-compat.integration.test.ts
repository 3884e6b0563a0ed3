import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Readable } from "node:stream";
import { waitFor } from "@adpipe/shared/testing";
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

  test("request bodies in zstd and br are read; an unknown encoding and LZ4 framing are refused clearly", async () => {
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
    for (const param of ["compress", "decompress"]) {
      const r = await post("SELECT 1", { [param]: "1" });
      expect(r.status).toBe(501);
      expect(r.headers.get("x-clickhouse-exception-code")).toBe("48");
      expect(await r.text()).toContain(`${param}=1`);
    }
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

describe("query_id, KILL QUERY and progress", () => {
  // About 10 s if nothing stops it: 100 blocks of one row, 0.1 s each.
  const slow =
    "SELECT count() AS c FROM numbers(100) WHERE sleepEachRow(0.1) = 0 SETTINGS max_block_size = 1";

  async function engineSees(queryId: string): Promise<boolean> {
    const r = await ch.client.query({
      query: `SELECT count() AS n FROM system.processes WHERE endsWith(query, ' */') AND query LIKE '%sleepEachRow(0.1)%' AND query NOT LIKE '%system.processes%'`,
      format: "JSONEachRow",
    });
    const [row] = await r.json<{ n: string }>();
    return Number(row?.n) > 0 && queryId.length > 0;
  }

  for (const format of ["JSON", "JSONEachRow"] as const) {
    test(`KILL QUERY WHERE query_id = the client's id stops a running query (${format})`, async () => {
      const queryId = `kill-me-${format}-${crypto.randomUUID()}`;
      const running = ch.client
        .query({ query: slow, format, query_id: queryId })
        .then((r) => r.text())
        .then(
          () => "finished",
          (e) => e,
        );
      await waitFor(() => engineSees(queryId), { what: "the slow query to run in the engine" });
      const duplicate = await ch.client.query({ query: "SELECT 1", query_id: queryId }).catch((e) => e);
      expect(duplicate.code).toBe("216");
      await ch.client.command({ query: `KILL QUERY WHERE query_id = '${queryId}' SYNC` });
      const outcome = await running;
      expect(outcome).toBeInstanceOf(Error);
      expect(outcome.code).toBe("394");
      expect(await engineSees(queryId)).toBe(false);
    });
  }

  test("the client's query_id comes back; summary and, when asked, progress headers", async () => {
    const rs = await ch.client.query({
      query: "SELECT number FROM numbers(10)",
      format: "JSONEachRow",
      query_id: "my-query-id",
      clickhouse_settings: { send_progress_in_http_headers: 1, wait_end_of_query: 1 },
    });
    await rs.json();
    expect(rs.query_id).toBe("my-query-id");
    expect(rs.response_headers["x-clickhouse-query-id"]).toBe("my-query-id");
    const summary = JSON.parse(rs.response_headers["x-clickhouse-summary"] as string);
    expect(summary.result_rows).toBe("10");
    expect(JSON.parse(rs.response_headers["x-clickhouse-progress"] as string)).toEqual(summary);
    const plain = await post("SELECT 1");
    expect(plain.headers.get("x-clickhouse-progress")).toBeNull();
  });
});

describe("sessions", () => {
  test("session_id carries SET and temporary tables; URL settings stay with their request", async () => {
    const sessionId = `s-${crypto.randomUUID()}`;
    const client = createClient({
      url: ch.url,
      username: ch.user,
      password: ch.password,
      session_id: sessionId,
    });
    try {
      await client.command({ query: "CREATE TEMPORARY TABLE tmp (x UInt8)" });
      await client.command({ query: "INSERT INTO tmp VALUES (1), (2)" });
      await client.command({ query: "SET max_threads = 3" });
      const read = (sql: string, settings = {}) =>
        client
          .query({ query: sql, format: "JSONEachRow", clickhouse_settings: settings })
          .then((r) => r.json());
      expect(await read("SELECT sum(x) AS s FROM tmp")).toEqual([{ s: "3" }]);
      expect(await read("SELECT toString(getSetting('max_threads')) AS m")).toEqual([{ m: "3" }]);
      expect(await read("SELECT toString(getSetting('max_threads')) AS m", { max_threads: 1 })).toEqual([
        { m: "1" },
      ]);
      expect(await read("SELECT toString(getSetting('max_threads')) AS m")).toEqual([{ m: "3" }]);
      // Another session, and no session, see none of it.
      const other = await ch.client
        .query({ query: "SELECT * FROM tmp", format: "JSONEachRow" })
        .catch((e) => e);
      expect(other.code).toBe("60");
    } finally {
      await client.close();
    }
  });

  test("a session is free again as soon as its answer arrived", async () => {
    const id = `next-${crypto.randomUUID()}`;
    const codes: (string | null)[] = [];
    // Each request sets a database and a setting for itself, which are put back after it.
    for (let i = 0; i < 30; i++) {
      const streamed = i % 2 === 1 ? "SELECT number FROM numbers(300000)" : "SELECT 1";
      const r = await post(streamed, { session_id: id, max_threads: "2" });
      await r.arrayBuffer();
      codes.push(r.headers.get("x-clickhouse-exception-code"));
    }
    expect(codes.filter(Boolean)).toEqual([]);
  });

  test("session_check, a busy session and session_timeout", async () => {
    const missing = await post("SELECT 1", { session_id: `none-${crypto.randomUUID()}`, session_check: "1" });
    expect(missing.headers.get("x-clickhouse-exception-code")).toBe("372");
    const id = `busy-${crypto.randomUUID()}`;
    const slow = post("SELECT sleep(2) AS busy_session", { session_id: id });
    await waitFor(
      async () => {
        const r = await ch.client.query({
          query:
            "SELECT count() AS n FROM system.processes WHERE query LIKE '%busy_session%' AND query NOT LIKE '%system.processes%'",
          format: "JSONEachRow",
        });
        return (await r.json<{ n: string }>())[0]?.n === "1";
      },
      { what: "the session's query to run" },
    );
    const locked = await post("SELECT 1", { session_id: id });
    expect(locked.headers.get("x-clickhouse-exception-code")).toBe("373");
    expect((await slow).status).toBe(200);
    expect((await post("SELECT 1", { session_id: id, session_check: "1" })).status).toBe(200);
    const tooLong = await post("SELECT 1", { session_id: id, session_timeout: "100000" });
    expect(tooLong.headers.get("x-clickhouse-exception-code")).toBe("374");
    await post("CREATE TEMPORARY TABLE gone (x UInt8)", { session_id: id, session_timeout: "1" });
    await waitFor(
      async () =>
        (await post("SELECT 1", { session_id: id, session_check: "1", session_timeout: "1" })).status === 404,
      // Every request touches the session: ask less often than it times out.
      { what: "the session to time out", intervalMs: 1500 },
    );
  });
});
