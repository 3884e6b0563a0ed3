import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { ClickHouseError, createClickHouse } from "@adpipe/shared/clickhouse";
import { waitFor } from "@adpipe/shared/testing";
import { createClient } from "@clickhouse/client";
import { spawnEmbeddedClickHouse } from "./spawn.ts";
import { startTestClickHouse, type TestClickHouse } from "./testing.ts";

let ch: TestClickHouse;
beforeAll(async () => {
  ch = await startTestClickHouse();
  await ch.client.command({
    query:
      "CREATE TABLE events (id UInt64, name String, at DateTime64(6), score Nullable(Decimal(10, 2))) ENGINE = MergeTree ORDER BY id",
  });
});
afterAll(() => ch.stop());

const rows = (sql: string) => ch.client.query({ query: sql, format: "JSONEachRow" }).then((r) => r.json());

describe("embedded ClickHouse over HTTP, through @clickhouse/client", () => {
  test("ping", async () => {
    expect(await ch.client.ping()).toEqual({ success: true });
  });

  test("query in several formats, 64-bit integers quoted as a server does", async () => {
    const sql = "SELECT toUInt64(number) AS n, toString(number) AS s FROM numbers(2)";
    expect(await ch.client.query({ query: sql, format: "JSONEachRow" }).then((r) => r.json())).toEqual([
      { n: "0", s: "0" },
      { n: "1", s: "1" },
    ]);
    const json = await ch.client
      .query({ query: sql, format: "JSON" })
      .then((r) => r.json<{ n: string; s: string }>());
    expect(json.data).toEqual([
      { n: "0", s: "0" },
      { n: "1", s: "1" },
    ]);
    expect(json.meta).toEqual([
      { name: "n", type: "UInt64" },
      { name: "s", type: "String" },
    ]);
    expect(await ch.client.query({ query: sql, format: "CSV" }).then((r) => r.text())).toBe('0,"0"\n1,"1"\n');
    expect(await ch.client.query({ query: sql, format: "TabSeparated" }).then((r) => r.text())).toBe(
      "0\t0\n1\t1\n",
    );
    expect(await ch.client.query({ query: sql, format: "JSONCompactEachRow" }).then((r) => r.json())).toEqual(
      [
        ["0", "0"],
        ["1", "1"],
      ],
    );
    const result = await ch.client.query({ query: "SELECT 1", format: "JSONEachRow" });
    expect(result.response_headers["x-clickhouse-format"]).toBe("JSONEachRow");
    expect(result.query_id).toBe(result.response_headers["x-clickhouse-query-id"] as string);
  });

  test("a large result streams row by row", async () => {
    const result = await ch.client.query({
      query: "SELECT number FROM numbers(300000)",
      format: "JSONEachRow",
    });
    let count = 0;
    let sum = 0;
    for await (const batch of result.stream()) {
      for (const row of batch) {
        count++;
        sum += Number(row.json<{ number: string }>().number);
      }
    }
    expect(count).toBe(300_000);
    expect(sum).toBe((299_999 * 300_000) / 2);
  });

  test("command and exec", async () => {
    await ch.client.command({ query: "CREATE TABLE scratch (a UInt8) ENGINE = Memory" });
    const exec = await ch.client.exec({ query: "EXISTS TABLE scratch FORMAT TabSeparated" });
    expect(await new Response(Readable.toWeb(exec.stream) as ReadableStream).text()).toBe("1\n");
    const cmd = await ch.client.command({ query: "INSERT INTO scratch SELECT number FROM numbers(7)" });
    expect(cmd.summary?.written_rows).toBe("7");
    await ch.client.command({ query: "DROP TABLE scratch" });
  });

  test("insert JSONEachRow values, a stream, and raw TabSeparated and CSV bytes", async () => {
    await ch.client.command({ query: "TRUNCATE TABLE events" });
    const inserted = await ch.client.insert({
      table: "events",
      values: [
        { id: 1, name: "a", at: "2026-11-20 10:00:00.123456", score: "1.25" },
        { id: 2, name: "b", at: "2026-11-20 10:00:01", score: null },
      ],
      format: "JSONEachRow",
    });
    expect(inserted.executed).toBe(true);
    expect(inserted.summary?.written_rows).toBe("2");

    const stream = Readable.from(
      (function* () {
        for (let i = 3; i <= 1000; i++)
          yield { id: i, name: `n${i}`, at: "2026-11-21 00:00:00", score: "0.50" };
      })(),
    );
    await ch.client.insert({ table: "events", values: stream, format: "JSONEachRow" });

    const tsv = "1001\ttab\\there\t2026-11-22 10:00:00.000001\t\\N\n1002\tb\t2026-11-22 10:00:00\t3.5\n";
    await ch.client.insert({
      table: "events",
      values: Readable.from([Buffer.from(tsv)], { objectMode: false }),
      format: "TabSeparated",
      columns: ["id", "name", "at", "score"],
    });
    await ch.client.insert({
      table: "events",
      values: Readable.from([Buffer.from('1003,"quoted, comma",2026-11-23 00:00:00,2\n')], {
        objectMode: false,
      }),
      format: "CSV",
    });
    expect(
      await rows("SELECT count() AS c, sum(id) AS s, countIf(score IS NULL) AS nulls FROM events"),
    ).toEqual([{ c: "1003", s: String((1003 * 1004) / 2), nulls: "2" }]);
    expect(
      await rows("SELECT name, toString(at) AS at, score FROM events WHERE id IN (1001, 1003) ORDER BY id"),
    ).toEqual([
      { name: "tab\there", at: "2026-11-22 10:00:00.000001", score: null },
      { name: "quoted, comma", at: "2026-11-23 00:00:00.000000", score: 2 },
    ]);
  });

  test("gzip-compressed request bodies and responses", async () => {
    const gz = createClient({
      url: ch.url,
      username: ch.user,
      password: ch.password,
      database: ch.database,
      compression: { request: true, response: true },
    });
    try {
      await gz.command({ query: "CREATE TABLE zipped (k UInt32) ENGINE = MergeTree ORDER BY k" });
      await gz.insert({ table: "zipped", values: [{ k: 1 }, { k: 41 }], format: "JSONEachRow" });
      expect(
        await gz
          .query({ query: "SELECT sum(k) AS s FROM zipped", format: "JSONEachRow" })
          .then((r) => r.json()),
      ).toEqual([{ s: "42" }]);
    } finally {
      await gz.close();
    }
  });

  test("query parameters are bound, never spliced", async () => {
    const result = await ch.client.query({
      query: "SELECT {s:String} AS s, {n:UInt64} + 1 AS n, {d:Date32} AS d, {list:Array(UInt8)} AS list",
      query_params: { s: "it's a\ttab\\", n: 41, d: "2026-11-24", list: [1, 2] },
      format: "JSONEachRow",
    });
    expect(await result.json()).toEqual([{ s: "it's a\ttab\\", n: "42", d: "2026-11-24", list: [1, 2] }]);
  });

  test("settings apply to their query only", async () => {
    const quoted = { output_format_json_quote_64bit_integers: 0 } as const;
    const once = await ch.client.query({
      query: "SELECT toUInt64(5) AS v",
      format: "JSONEachRow",
      clickhouse_settings: quoted,
    });
    expect(await once.json()).toEqual([{ v: 5 }]);
    expect(await rows("SELECT toUInt64(5) AS v")).toEqual([{ v: "5" }]);
    const limited = ch.client.query({
      query: "SELECT number FROM numbers(1000)",
      format: "JSONEachRow",
      clickhouse_settings: { max_result_rows: "10", result_overflow_mode: "throw" },
    });
    expect(await limited.then((r) => r.json()).catch((e) => e.code)).toBe("396");
  });

  test("errors carry the server's code and type", async () => {
    const err = await ch.client.query({ query: "SELECT * FROM no_such_table" }).catch((e) => e);
    expect(err).toBeInstanceOf(ClickHouseError);
    expect(err.code).toBe("60");
    expect(err.type).toBe("UNKNOWN_TABLE");
    const syntax = await ch.client.command({ query: "SELEC 1" }).catch((e) => e);
    expect(syntax.code).toBe("62");
    const badRow = await ch.client
      .insert({
        table: "events",
        values: Readable.from([Buffer.from("x\ty\tz\tw\n")], { objectMode: false }),
        format: "TabSeparated",
      })
      .catch((e) => e);
    expect(badRow.code).toBe("27");
    // The body is named as such, never by the file the server spooled it to under its data folder.
    expect(badRow.message).not.toContain("http-spool");
    expect(badRow.message).not.toContain(".body");
    const unknownSetting = await ch.client
      .query({ query: "SELECT 1", clickhouse_settings: { no_such_setting: 1 } as Record<string, number> })
      .catch((e) => e);
    expect(unknownSetting.code).toBe("115");
  });

  test("an error after the first rows went out fails the read", async () => {
    const result = await ch.client.query({
      query:
        "SELECT throwIf(number = 250000, 'boom') AS x FROM numbers(400000) SETTINGS max_block_size = 1000",
      format: "JSONEachRow",
    });
    const err = await result.json().catch((e) => e);
    expect(err).toBeInstanceOf(Error);
  });

  test("concurrent queries and inserts all complete, each with its own settings", async () => {
    await ch.client.command({
      query: "CREATE TABLE parallel (w UInt32, i UInt32) ENGINE = MergeTree ORDER BY (w, i)",
    });
    const work = Array.from({ length: 8 }, async (_, w) => {
      const tsv = Array.from({ length: 5000 }, (_, i) => `${w}\t${i}\n`).join("");
      await ch.client.insert({
        table: "parallel",
        values: Readable.from([Buffer.from(tsv)], { objectMode: false }),
        format: "TabSeparated",
      });
      const r = await ch.client.query({
        query: "SELECT toUInt64({w:UInt32}) AS worker, count() AS c FROM parallel WHERE w = {w:UInt32}",
        query_params: { w },
        format: "JSONEachRow",
        clickhouse_settings: { output_format_json_quote_64bit_integers: w % 2 === 1 ? 1 : 0 },
      });
      return r.json();
    });
    const results = await Promise.all(work);
    results.forEach((r, w) => {
      expect(r).toEqual([w % 2 ? { worker: String(w), c: "5000" } : { worker: w, c: 5000 }]);
    });
  });

  test("user and password: basic auth, X-ClickHouse-User/Key, wrong password refused", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "adpipe-ch-auth-"));
    const server = await spawnEmbeddedClickHouse({ dataDir, user: "adpipe", password: "s3cret" });
    try {
      const good = createClickHouse({ url: server.url, user: "adpipe", password: "s3cret" });
      expect(
        await good.query({ query: "SELECT 1 AS one", format: "JSONEachRow" }).then((r) => r.json()),
      ).toEqual([{ one: 1 }]);
      await good.close();
      const viaHeaders = await fetch(`${server.url}/?query=SELECT%202`, {
        headers: { "X-ClickHouse-User": "adpipe", "X-ClickHouse-Key": "s3cret" },
      });
      expect(await viaHeaders.text()).toBe("2\n");
      const bad = createClickHouse({ url: server.url, user: "adpipe", password: "wrong" });
      const err = await bad.query({ query: "SELECT 1" }).catch((e) => e);
      expect(err.code).toBe("516");
      await bad.close();
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test("data survives a restart of the server", async () => {
    await ch.client.command({ query: "CREATE TABLE kept (k String) ENGINE = MergeTree ORDER BY k" });
    await ch.client.insert({ table: "kept", values: [{ k: "before restart" }], format: "JSONEachRow" });
    const before = ch.server.pid;
    await ch.restart();
    expect(ch.server.pid).not.toBe(before);
    const after = ch.connect(ch.database);
    expect(
      await after.query({ query: "SELECT k FROM kept", format: "JSONEachRow" }).then((r) => r.json()),
    ).toEqual([{ k: "before restart" }]);
  });

  test("SIGTERM lets a running query finish; SIGKILL loses no acknowledged insert", async () => {
    await ch.client.command({ query: "CREATE TABLE durable (k UInt32) ENGINE = MergeTree ORDER BY k" });
    await ch.client.insert({ table: "durable", values: [{ k: 1 }, { k: 2 }], format: "JSONEachRow" });
    const slow = ch.client
      .query({ query: "SELECT sleep(1) AS s, 'finished' AS x", format: "JSONEachRow" })
      .then((r) => r.json());
    // Stop the server once the query is running in the engine.
    await waitFor(
      async () => {
        const r = await ch.client.query({
          query:
            "SELECT count() AS n FROM system.processes WHERE query LIKE '%sleep(1)%' AND query NOT LIKE '%system.processes%'",
          format: "JSONEachRow",
        });
        return (await r.json<{ n: string }>())[0]?.n === "1";
      },
      { what: "the slow query to start" },
    );
    await ch.restart();
    expect(await slow).toEqual([{ s: 0, x: "finished" }]);

    await ch.restart({ crash: true });
    const after = ch.connect(ch.database);
    expect(
      await after
        .query({ query: "SELECT sum(k) AS s FROM durable", format: "JSONEachRow" })
        .then((r) => r.json()),
    ).toEqual([{ s: "3" }]);
  });
});
