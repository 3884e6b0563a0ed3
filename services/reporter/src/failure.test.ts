import { expect, test } from "bun:test";
import { ClickHouseError, createClickHouse } from "@adpipe/shared/clickhouse";
import { describeFailure } from "./failure.ts";

test("a ClickHouse exception: its code, name and message", () => {
  const err = new ClickHouseError({ message: "Unknown table", code: "60", type: "UNKNOWN_TABLE" });
  expect(describeFailure(err)).toEqual({
    error: "ClickHouse error 60 (UNKNOWN_TABLE): Unknown table",
    clickhouse_code: "60",
    clickhouse_type: "UNKNOWN_TABLE",
  });
});

test("an error with its cause; anything else as text", () => {
  expect(describeFailure(new Error("fetch failed", { cause: new Error("ECONNREFUSED") }))).toEqual({
    error: "fetch failed: ECONNREFUSED",
  });
  expect(describeFailure("boom")).toEqual({ error: "boom" });
});

test("a bare HTTP status (Bun's 431 for a long URL): the client's error has no message, the description does", async () => {
  // Bun's own limit (16 KiB of request line and headers) answers before the handler runs.
  const server = Bun.serve({ port: 0, fetch: () => new Response("Ok.\n") });
  const client = createClickHouse({ url: `http://127.0.0.1:${server.port}`, user: "default", password: "" });
  try {
    const err = await client
      .query({ query: "SELECT {s:String}", query_params: { s: "x".repeat(20_000) } })
      .then(() => null)
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe("");
    expect(describeFailure(err).error).toContain("without a message");
  } finally {
    await client.close();
    server.stop(true);
  }
});
