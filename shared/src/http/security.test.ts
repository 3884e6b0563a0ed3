import { describe, expect, test } from "bun:test";
import { z } from "zod";
import { createLogger } from "../config/logger.ts";
import { authorised, TEST_API_TOKEN, testSecurity, unguardedRoutes } from "./api-testing.ts";
import { createServiceApp } from "./http.ts";
import type { HttpSecurity } from "./security.ts";
import { decimalInt, jsonNumber } from "./validate.ts";

function appWith(security: HttpSecurity, lines: string[] = []) {
  const logger = createLogger("test", "info", {}, (line) => lines.push(line));
  const app = createServiceApp({ service: "test", logger, security });
  const calls: unknown[] = [];
  app.api.post("/things", { summary: "make", body: z.object({ n: jsonNumber().int() }) }, (c, { body }) => {
    calls.push(body);
    return c.json({ made: body.n });
  });
  app.api.post("/bare", { summary: "no body" }, (c) => {
    calls.push("bare");
    return c.json({ ok: true });
  });
  app.api.get(
    "/things",
    { summary: "read", query: z.object({ id: decimalInt(z.number().int().min(1)) }) },
    (c, { query }) => c.json({ id: query.id }),
  );
  return { app, calls, lines };
}

const post = (
  app: ReturnType<typeof appWith>["app"],
  body: string,
  headers: Record<string, string> = authorised,
) => app.request("/things", { method: "POST", headers, body });
const code = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string } }).error;

describe("the shared HTTP guard", () => {
  test("every mutating route of a service is guarded (route-table walk)", async () => {
    expect(await unguardedRoutes(appWith(testSecurity).app)).toEqual([]);
  });

  test("no token configured: every mutating call is refused and nothing runs", async () => {
    const { app, calls } = appWith({});
    const res = await post(app, '{"n":1}');
    expect(res.status).toBe(401);
    expect((await code(res)).message).toContain("ADPIPE_API_TOKEN");
    expect(calls).toEqual([]);
  });

  test("text/plain and form bodies get 415 and change nothing; JSON with the token works", async () => {
    const { app, calls } = appWith(testSecurity);
    const auth = { authorization: `Bearer ${TEST_API_TOKEN}` };
    expect((await post(app, '{"n":1}', { ...auth, "content-type": "text/plain" })).status).toBe(415);
    expect(
      (await post(app, "n=1", { ...auth, "content-type": "application/x-www-form-urlencoded" })).status,
    ).toBe(415);
    expect((await post(app, '{"n":1}', auth)).status).toBe(415);
    expect(calls).toEqual([]);
    expect((await post(app, '{"n":1}')).status).toBe(200);
    expect(
      (await post(app, '{"n":2}', { ...authorised, "content-type": "application/json; charset=utf-8" }))
        .status,
    ).toBe(200);
    expect(calls).toEqual([{ n: 1 }, { n: 2 }]);
  });

  test("a cross-origin page is refused, the same origin is not", async () => {
    const { app, calls } = appWith(testSecurity);
    const cross = await post(app, '{"n":1}', { ...authorised, origin: "http://evil.example" });
    expect(cross.status).toBe(403);
    expect((await code(cross)).code).toBe("forbidden");
    expect((await post(app, '{"n":1}', { ...authorised, "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect(calls).toEqual([]);
    const same = await app.request("http://127.0.0.1:3004/things", {
      method: "POST",
      headers: { ...authorised, origin: "http://127.0.0.1:3004", host: "127.0.0.1:3004" },
      body: '{"n":3}',
    });
    expect(same.status).toBe(200);
  });

  test("coerced numbers get 400 naming the field", async () => {
    const { app, calls } = appWith(testSecurity);
    for (const n of ["true", "[1]", '"0x2"', '" 2 "', '"2"', "1e999", "null"]) {
      const res = await post(app, `{"n":${n}}`);
      expect(res.status).toBe(400);
      expect((await code(res)).message).toStartWith("n:");
    }
    for (const id of ["0x1", " 1", "1e3", "+1", "1.5", ""]) {
      const res = await app.request(`/things?id=${encodeURIComponent(id)}`);
      expect(res.status).toBe(400);
      expect((await code(res)).message).toStartWith("id:");
    }
    expect(await (await app.request("/things?id=12")).json()).toEqual({ id: 12 });
    expect(calls).toEqual([]);
  });

  test("a required body is required", async () => {
    const { app, calls } = appWith(testSecurity);
    const res = await post(app, "");
    expect(res.status).toBe(400);
    expect((await code(res)).message).toStartWith("body:");
    expect(calls).toEqual([]);
  });

  test("size limits answer JSON errors", async () => {
    const { app, calls } = appWith({ ...testSecurity, maxBodyBytes: 100, maxQueryBytes: 50 });
    const big = await post(app, JSON.stringify({ n: 1, pad: "x".repeat(200) }));
    expect(big.status).toBe(413);
    expect((await code(big)).code).toBe("payload_too_large");
    const long = await app.request(`/things?id=1&pad=${"x".repeat(100)}`);
    expect(long.status).toBe(414);
    expect((await code(long)).code).toBe("uri_too_long");
    expect(calls).toEqual([]);
  });

  test("reads are open unless ADPIPE_READ_TOKEN is set; probes and metrics stay open", async () => {
    expect((await appWith(testSecurity).app.request("/things?id=1")).status).toBe(200);
    const { app } = appWith({ ...testSecurity, readToken: "read-token-0123456789" });
    expect((await app.request("/things?id=1")).status).toBe(401);
    const withRead = await app.request("/things?id=1", {
      headers: { authorization: "Bearer read-token-0123456789" },
    });
    expect(withRead.status).toBe(200);
    expect((await app.request("/things?id=1", { headers: authorised })).status).toBe(200);
    for (const open of ["/health", "/ready", "/metrics", "/openapi.json"])
      expect((await app.request(open)).status).toBe(200);
  });

  test("every mutating call leaves one audit line: route, caller, outcome", async () => {
    const { app, lines } = appWith(testSecurity);
    await post(app, '{"n":1}');
    await post(app, '{"n":1}', { "content-type": "application/json" });
    await app.request("/things?id=1");
    const audits = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "audit");
    expect(audits.map((a) => [a.method, a.route, a.status, a.outcome, typeof a.caller])).toEqual([
      ["POST", "/things", 200, "ok", "string"],
      ["POST", "/things", 401, "refused_or_failed", "string"],
    ]);
  });

  test("the OpenAPI document declares the bearer scheme and the guard's answers", async () => {
    const doc = (await (await appWith(testSecurity).app.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { security: unknown; responses: Record<string, unknown> }>>;
      components: { securitySchemes: Record<string, { scheme: string }> };
    };
    expect(doc.components.securitySchemes.bearerAuth?.scheme).toBe("bearer");
    const make = doc.paths["/things"]?.post;
    expect(make?.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(make?.responses ?? {})).toEqual(
      expect.arrayContaining(["400", "401", "403", "413", "415"]),
    );
    expect(doc.paths["/health"]?.get?.security).toEqual([{}]);
  });
});
