import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { Readable } from "node:stream";
import { type ClickHouseClient, ClickHouseError, createClickHouse } from "@adpipe/shared/clickhouse";
import { uniqueName, waitFor } from "@adpipe/shared/testing";
import type { EmbeddedUsers } from "./access.ts";
import { startTestClickHouse, type TestClickHouse } from "./testing.ts";

// Users with grants on a database of this file's own: `writer` may insert into `allowed` only,
// `reader` reads with readonly=1. The owner (`default`) keeps every right.
const db = uniqueName("access");
// Four seconds: still running when the kill is tried, whatever the machine's load.
const LONG = "SELECT sleep(2), sleep(2), 'done' AS x";
// The engine's own query ids are its own: the long query is found by its text.
const RUNNING = "query LIKE '%sleep(2), sleep(2), %' AND query NOT LIKE '%system.processes%'";
const users: EmbeddedUsers = {
  writer: {
    password: "writer-secret",
    grants: [
      { privilege: "SELECT", database: db, table: "*" },
      { privilege: "INSERT", database: db, table: "allowed" },
    ],
  },
  reader: {
    password: "reader-secret",
    readonly: 1,
    grants: [{ privilege: "SELECT", database: db, table: "*" }],
  },
};

let ch: TestClickHouse;
const clients: ClickHouseClient[] = [];
const as = (user: string, password: string) => {
  const client = createClickHouse({ url: ch.url, user, password, database: db });
  clients.push(client);
  return client;
};
beforeAll(async () => {
  ch = await startTestClickHouse({ users });
  const owner = ch.connect();
  await owner.command({ query: `CREATE DATABASE ${db}` });
  for (const table of ["allowed", "other"])
    await owner.command({ query: `CREATE TABLE ${db}.${table} (x UInt32) ENGINE = MergeTree ORDER BY x` });
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await ch.connect().command({ query: `DROP DATABASE IF EXISTS ${db}` });
  await ch.stop();
});

/** The ClickHouse error a call failed with (code as the client reports it), or "ok". */
const outcome = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (err) => (err instanceof ClickHouseError ? `${err.code} ${err.type}` : String(err)),
  );

const count = async (table: string) => {
  const rs = await ch
    .connect(db)
    .query({ query: `SELECT count() AS n FROM ${table}`, format: "JSONEachRow" });
  return Number((await rs.json<{ n: string }>())[0]?.n);
};

describe("embedded server: users and grants", () => {
  test("a wrong password is AUTHENTICATION_FAILED", async () => {
    expect(await outcome(as("writer", "wrong").query({ query: "SELECT 1" }))).toBe(
      "516 AUTHENTICATION_FAILED",
    );
  });

  test("an INSERT-limited user writes its table, by every insert path, and nothing else", async () => {
    const writer = as("writer", "writer-secret");
    const before = await count("allowed");
    // Split insert (URL prefix + body), the loader's path.
    expect(
      await outcome(writer.insert({ table: "allowed", values: [{ x: 1 }], format: "JSONEachRow" })),
    ).toBe("ok");
    expect(
      await outcome(
        writer.insert({
          table: `${db}.allowed`,
          values: Readable.from(["2\n"], { objectMode: false }),
          format: "TabSeparated",
        }),
      ),
    ).toBe("ok");
    // INSERT ... SELECT in the body, the reporter's path, with a query parameter.
    expect(
      await outcome(
        writer.command({ query: "INSERT INTO allowed SELECT {n:UInt32}", query_params: { n: 3 } }),
      ),
    ).toBe("ok");
    expect(await count("allowed")).toBe(before + 3);

    expect(await outcome(writer.insert({ table: "other", values: [{ x: 1 }], format: "JSONEachRow" }))).toBe(
      "497 ACCESS_DENIED",
    );
    expect(await outcome(writer.command({ query: `INSERT INTO ${db}.other SELECT 1` }))).toBe(
      "497 ACCESS_DENIED",
    );
    // A second statement after a granted one, which chDB would run too.
    expect(
      await outcome(writer.command({ query: "INSERT INTO allowed SELECT 1; INSERT INTO other SELECT 1" })),
    ).toMatch(/^62 /);
    expect(
      await outcome(
        writer.command({ query: "INSERT INTO FUNCTION file('x.tsv', 'TSV', 'x UInt32') SELECT 1" }),
      ),
    ).toBe("497 ACCESS_DENIED");
    // Reading the machine needs a grant on a server (READ ON FILE, URL, ...), in any statement.
    for (const query of [
      "SELECT * FROM file('/etc/hostname', 'LineAsString')",
      "SELECT file('/etc/hostname')",
      "INSERT INTO allowed SELECT length(line) FROM file('/etc/hostname', 'LineAsString')",
      "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')",
      "SELECT * FROM remote('127.0.0.1', system.one)",
    ])
      expect(await outcome(writer.command({ query }))).toBe("497 ACCESS_DENIED");
    // Everything that is not an INSERT runs with readonly=2: the engine refuses DDL and mutations.
    for (const query of ["ALTER TABLE other DELETE WHERE 1", "TRUNCATE TABLE other", "DROP TABLE other"])
      expect(await outcome(writer.command({ query }))).toBe("164 READONLY");
    // What readonly lets through but no adpipe user may do: cancel others' queries, write or read
    // the machine's files by the client-side clauses clickhouse-local honours, system commands.
    for (const query of [
      "KILL QUERY WHERE 1",
      "KILL QUERY WHERE query_id = 'loader-insert' SYNC",
      "SELECT 1 INTO OUTFILE 'adpipe-outfile-test.tsv'",
      "SELECT 'INTO OUTFILE' INTO OUTFILE 'adpipe-outfile-test.tsv' APPEND",
      "INSERT INTO allowed FROM INFILE '/etc/hostname' FORMAT LineAsString",
      "SYSTEM DROP DNS CACHE",
      "UNDROP TABLE other",
      "CHECK TABLE other",
    ])
      expect([query, await outcome(writer.command({ query }))]).toEqual([query, "497 ACCESS_DENIED"]);
    expect(existsSync("adpipe-outfile-test.tsv")).toBe(false);
    // A string that merely reads like the clause is not one.
    expect(await outcome(writer.query({ query: "SELECT 'INTO OUTFILE x' AS s" }))).toBe("ok");
    expect(await count("other")).toBe(0);
    // Reads and settings of its own still work.
    const rs = await writer.query({
      query: "SELECT count() AS n FROM other",
      format: "JSONEachRow",
      clickhouse_settings: { max_threads: 1 },
    });
    expect(await rs.json()).toEqual([{ n: "0" }]);
  });

  test("a readonly=1 user reads, and the engine refuses its writes and setting changes", async () => {
    const reader = as("reader", "reader-secret");
    const rs = await reader.query({ query: "SELECT count() AS n FROM allowed", format: "JSONEachRow" });
    expect(Number((await rs.json<{ n: string }>())[0]?.n)).toBeGreaterThan(0);
    expect(
      await outcome(reader.insert({ table: "allowed", values: [{ x: 9 }], format: "JSONEachRow" })),
    ).toBe("497 ACCESS_DENIED");
    expect(await outcome(reader.command({ query: "CREATE TABLE t2 (x UInt8) ENGINE = Memory" }))).toBe(
      "164 READONLY",
    );
    expect(await outcome(reader.query({ query: "SELECT 1", clickhouse_settings: { max_threads: 1 } }))).toBe(
      "164 READONLY",
    );
    expect(await outcome(reader.query({ query: "SELECT 1 SETTINGS readonly = 0" }))).toBe("164 READONLY");
    expect(
      await outcome(reader.query({ query: "SELECT * FROM file('/etc/hostname', 'LineAsString')" })),
    ).toMatch(/^(497|164) /);
  });

  test("the reader cannot cancel another user's running query (KILL QUERY)", async () => {
    const owner = ch.connect(db);
    const queryId = uniqueName("long");
    const long = owner.query({ query: LONG, query_id: queryId, format: "JSONEachRow" }).then((r) => r.json());
    await waitFor(
      async () => {
        const rs = await owner.query({
          query: `SELECT count() AS n FROM system.processes WHERE ${RUNNING}`,
          format: "JSONEachRow",
        });
        return (await rs.json<{ n: string }>())[0]?.n === "1";
      },
      { what: "the owner's query to run" },
    );
    const reader = as("reader", "reader-secret");
    const kill = `KILL QUERY WHERE ${RUNNING} SYNC`;
    expect(await outcome(reader.command({ query: kill }))).toBe("497 ACCESS_DENIED");
    expect(((await long) as { x: string }[])[0]?.x).toBe("done");
  });

  test("users, roles and grants managed with SQL are refused saying why, to the owner too", async () => {
    const owner = ch.connect(db);
    for (const [query, statement] of [
      ["CREATE USER u1 IDENTIFIED WITH sha256_password BY 'x'", "CREATE USER"],
      ["/* tool */ create role if not exists r1", "CREATE ROLE"],
      ["ALTER USER writer DEFAULT ROLE r1", "ALTER USER"],
      ["DROP USER IF EXISTS u1", "DROP USER"],
      ["GRANT SELECT ON *.* TO writer", "GRANT"],
      ["REVOKE INSERT ON *.* FROM writer", "REVOKE"],
      ["SET DEFAULT ROLE r1 TO writer", "SET DEFAULT ROLE"],
      ["CREATE SETTINGS PROFILE p1", "CREATE SETTINGS PROFILE"],
    ] as const) {
      const err = await owner.command({ query }).catch((e) => e);
      expect([query, err instanceof ClickHouseError ? `${err.code} ${err.type}` : String(err)]).toEqual([
        query,
        "48 NOT_IMPLEMENTED",
      ]);
      expect(err.message).toContain(`${statement} is not supported by the embedded server`);
    }
    expect(await outcome(owner.query({ query: "SELECT 'GRANT ALL' AS s" }))).toBe("ok");
  });

  test("the owner keeps every right", async () => {
    expect(await outcome(ch.connect(db).command({ query: "INSERT INTO other SELECT 7" }))).toBe("ok");
    expect(await count("other")).toBe(1);
  });
});
