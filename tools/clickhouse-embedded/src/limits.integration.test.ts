import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ClickHouseError } from "@adpipe/shared/clickhouse";
import { HTTP_MAX_URI_SIZE } from "./limits.ts";
import { startTestClickHouse, type TestClickHouse } from "./testing.ts";

// Issue #13: the server must take what ClickHouse's HTTP interface takes (URIs up to 1 MiB,
// bodies of any size) and answer everything else in ClickHouse's error format, never with a bare
// status and an empty message.

let ch: TestClickHouse;
beforeAll(async () => {
  ch = await startTestClickHouse();
});
afterAll(() => ch.stop());

const auth = () => ({ "X-ClickHouse-User": ch.user, "X-ClickHouse-Key": ch.password });

describe("request limits of the embedded server", () => {
  test("a 100 KB query parameter in the URL, through @clickhouse/client", async () => {
    const s = "x".repeat(100_000);
    const rs = await ch.client.query({
      query: "SELECT length({s:String}) AS n",
      query_params: { s },
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([{ n: "100000" }]);
  });

  test("an array of 3,000 integers as a URL parameter (the report of issue #13), and a URI just under 1 MiB", async () => {
    const ids = Array.from({ length: 3000 }, (_, i) => 1_000_000 + i);
    const url = new URL(ch.url);
    url.searchParams.set(
      "query",
      "SELECT length({ids:Array(Int32)}) AS n, sum(arrayJoin({ids:Array(Int32)})) AS s",
    );
    url.searchParams.set("param_ids", `[${ids.join(",")}]`);
    url.searchParams.set("default_format", "JSONEachRow");
    const res = await fetch(url, { headers: auth() });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ n: "3000", s: String(ids.reduce((a, b) => a + b, 0)) });

    const near = new URL(ch.url);
    near.searchParams.set("query", "SELECT length({s:String})");
    near.searchParams.set("param_s", "");
    const room = HTTP_MAX_URI_SIZE - (near.pathname.length + near.search.length) - 16;
    near.searchParams.set("param_s", "y".repeat(room));
    const big = await fetch(near, { headers: auth() });
    expect(big.status).toBe(200);
    expect((await big.text()).trim()).toBe(String(room));
  });

  test("a URI past http_max_uri_size gets ClickHouse's error format: code, header, message", async () => {
    const url = new URL(ch.url);
    url.searchParams.set("query", "SELECT 1");
    url.searchParams.set("param_s", "z".repeat(HTTP_MAX_URI_SIZE + 10));
    const res = await fetch(url, { headers: auth() });
    expect(res.status).toBe(400);
    expect(res.headers.get("x-clickhouse-exception-code")).toBe("36");
    const text = await res.text();
    expect(text).toStartWith("Code: 36. DB::Exception: HTTP request URI too long:");
    expect(text).toContain("(BAD_ARGUMENTS)");

    const err = await ch.client
      .query({ query: "SELECT {s:String}", query_params: { s: "z".repeat(HTTP_MAX_URI_SIZE) } })
      .then(() => null)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClickHouseError);
    expect((err as ClickHouseError).code).toBe("36");
    expect((err as ClickHouseError).message).toContain("http_max_uri_size");
  });

  test("a statement of 2 MB in the body (what the reporter sends with many keys)", async () => {
    const ids = Array.from({ length: 250_000 }, (_, i) => i);
    const query = `SELECT length(CAST([${ids.join(",")}], 'Array(Int32)')) AS n`;
    expect(Buffer.byteLength(query)).toBeGreaterThan(1_500_000);
    const rs = await ch.client.query({
      query,
      format: "JSONEachRow",
      clickhouse_settings: { max_query_size: String(4 * Buffer.byteLength(query)) },
    });
    expect(await rs.json()).toEqual([{ n: "250000" }]);
  });
});
