import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { waitFor } from "@adpipe/shared/testing";
import { createClient } from "@clickhouse/client";
import { startTestClickHouse, type TestClickHouse } from "./testing.ts";

/** What SQL consoles and tools expect of a server: query ids they can kill, progress, sessions. */
let ch: TestClickHouse;
let auth: string;
beforeAll(async () => {
  ch = await startTestClickHouse();
  auth = `Basic ${Buffer.from(`${ch.user}:${ch.password}`).toString("base64")}`;
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
    // The last progress header holds the counters the summary has.
    const progress = progressHeaders(String(rs.response_headers["x-clickhouse-progress"]));
    expect(progress.at(-1)).toEqual(summary);
    const plain = await post("SELECT 1");
    expect(plain.headers.get("x-clickhouse-progress")).toBeNull();
  });

  /** Several `X-ClickHouse-Progress` headers arrive joined by ", " (fetch and Node alike). */
  const progressHeaders = (joined: string): Record<string, string>[] =>
    joined.split(/(?<=\}), (?=\{)/).map((h) => JSON.parse(h));

  // 40 one-row blocks, 0.05 s each: at least 2 s, so the engine is asked for progress many times.
  const paced =
    "SELECT count() AS c FROM numbers(40) WHERE sleepEachRow(0.05) = 0 SETTINGS max_block_size = 1";

  for (const format of ["TSV", "JSON"]) {
    test(`progress headers while the query runs, with wait_end_of_query=1 (${format})`, async () => {
      const r = await post(`${paced} FORMAT ${format}`, {
        send_progress_in_http_headers: "1",
        wait_end_of_query: "1",
        http_headers_progress_interval_ms: "100",
      });
      expect(r.status).toBe(200);
      await r.text();
      const progress = progressHeaders(r.headers.get("x-clickhouse-progress") ?? "");
      // Taken while the query ran: more than the last one, rows read rising, never past 40.
      expect(progress.length).toBeGreaterThan(2);
      const read = progress.map((p) => Number(p.read_rows));
      expect(read).toEqual([...read].sort((a, b) => a - b));
      expect(read.some((n) => n > 0 && n < 40)).toBe(true);
      expect(Math.max(...read)).toBeLessThanOrEqual(40);
      expect(progress.every((p) => Number(p.elapsed_ns) > 0)).toBe(true);
      const summary = JSON.parse(r.headers.get("x-clickhouse-summary") ?? "{}");
      expect(Number(summary.read_rows)).toBeGreaterThan(0);
      expect(Number(summary.read_rows)).toBeLessThanOrEqual(40);
    });
  }
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
