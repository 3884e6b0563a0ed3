import { describe, expect, test } from "bun:test";
import { z } from "zod";
import { createLogger } from "../config/logger.ts";
import { authorised, testSecurity } from "./api-testing.ts";
import { CONTENT_SECURITY_POLICY } from "./browser-headers.ts";
import { createServiceApp } from "./http.ts";
import type { HttpSecurity } from "./security.ts";
import { decimalInt, duplicateKey, jsonNumber } from "./validate.ts";

// Host allow-list, browser headers, strict bodies and queries, request ids: the shared HTTP
// layer's answers to DNS rebinding, framing, sniffing and ambiguous input (issue 31).

function appWith(security: HttpSecurity = testSecurity) {
  const lines: string[] = [];
  const logger = createLogger("test", "info", {}, (line) => lines.push(line));
  const app = createServiceApp({ service: "test", logger, security });
  const calls: unknown[] = [];
  app.api.post(
    "/things",
    { summary: "make", body: z.object({ n: jsonNumber().int(), label: z.string().optional() }) },
    (c, { body }) => {
      calls.push(body);
      return c.json({ made: body.n });
    },
  );
  app.api.post(
    "/maybe",
    { summary: "optional body", body: z.object({ n: jsonNumber().optional() }), optionalBody: true },
    (c, { body }) => {
      calls.push(body);
      return c.json({ ok: true });
    },
  );
  app.api.post("/bare", { summary: "no body" }, (c) => {
    calls.push("bare");
    return c.json({ ok: true });
  });
  app.api.get(
    "/things",
    { summary: "read", query: z.object({ id: decimalInt(z.number().int().min(1)).optional() }) },
    (c, { query }) => c.json({ id: query.id ?? null }),
  );
  return { app, calls, lines };
}

const error = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string } }).error;
const post = (app: ReturnType<typeof appWith>["app"], path: string, body: string | null, extra = {}) =>
  app.request(path, { method: "POST", headers: { ...authorised, ...extra }, body });

describe("Host allow-list (DNS rebinding)", () => {
  test("a name that is not the service's is refused with 421, loopback names are answered", async () => {
    const { app } = appWith();
    const get = (host: string) => app.request("http://127.0.0.1:3004/things", { headers: { host } });
    for (const host of ["evil.example", "evil.example:3004", "127.0.0.1.evil.example", "localhost.evil"]) {
      const res = await get(host);
      expect(res.status).toBe(421);
      expect((await error(res)).message).toContain("ADPIPE_ALLOWED_HOSTS");
    }
    for (const host of ["127.0.0.1:3004", "localhost:3004", "LOCALHOST", "[::1]:3004"])
      expect((await get(host)).status).toBe(200);
    // Probes and metrics too: a rebinding page must not read them either.
    const health = await app.request("/health", { headers: { host: "evil.example" } });
    expect(health.status).toBe(421);
  });

  test("a refused Host changes nothing, even with the token and the Origin to match", async () => {
    const { app, calls } = appWith();
    const res = await post(app, "/things", '{"n":1}', {
      host: "evil.example:3004",
      origin: "http://evil.example:3004",
    });
    expect(res.status).toBe(421);
    expect(calls).toEqual([]);
  });

  test("ADPIPE_ALLOWED_HOSTS and a specific HOST add names; a wildcard HOST adds none", async () => {
    const { app } = appWith({ ...testSecurity, allowedHosts: ["reporter"], listenHost: "10.1.2.3" });
    const get = (host: string) => app.request("/things", { headers: { host } });
    expect((await get("reporter:3004")).status).toBe(200);
    expect((await get("10.1.2.3:3004")).status).toBe(200);
    expect((await get("evil.example")).status).toBe(421);
    const wildcard = appWith({ ...testSecurity, listenHost: "0.0.0.0" }).app;
    expect((await wildcard.request("/things", { headers: { host: "0.0.0.0:3004" } })).status).toBe(421);
  });
});

describe("Origin is compared with the allow-list, not with Host", () => {
  test("only this service's own origin under an allowed name may send a mutating call", async () => {
    const { app, calls } = appWith();
    const from = (origin: string) => post(app, "/things", '{"n":1}', { host: "127.0.0.1:3004", origin });
    for (const origin of [
      "http://evil.example:3004",
      "http://127.0.0.1:5173", // another local page, another port
      "null",
      "file://",
      "chrome-extension://abc",
    ])
      expect([origin, (await from(origin)).status]).toEqual([origin, 403]);
    expect(calls).toEqual([]);
    expect((await from("http://127.0.0.1:3004")).status).toBe(200);
    expect((await from("http://localhost:3004")).status).toBe(200);
  });
});

describe("browser headers", () => {
  test("every answer carries CSP, nosniff and no framing: JSON, errors and refusals alike", async () => {
    const { app } = appWith();
    const answers = [
      await app.request("/things"),
      await app.request("/nowhere"),
      await app.request("/things", { headers: { host: "evil.example" } }),
      await post(app, "/things", "{", {}),
      await app.request("/things", { method: "POST", body: "{}" }),
    ];
    for (const res of answers) {
      expect(res.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
    }
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self';");
    expect(CONTENT_SECURITY_POLICY).not.toContain("unsafe-eval");
  });

  test("/docs allows exactly its own script, by hash", async () => {
    const res = await appWith().app.request("/docs");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+';/);
    expect(csp.split("script-src")[1]?.split(";")[0]).not.toContain("unsafe-inline");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
  });
});

describe("strict bodies", () => {
  test("malformed JSON is 400 on every route that reads a body: required, optional or none", async () => {
    const { app, calls } = appWith();
    for (const path of ["/things", "/maybe", "/bare"]) {
      for (const bad of ["{{{not json", "{", '{"n":1', "nul"]) {
        const res = await post(app, path, bad);
        expect([path, bad, res.status]).toEqual([path, bad, 400]);
        expect((await error(res)).message).toStartWith("body:");
      }
    }
    expect(calls).toEqual([]);
    expect((await post(app, "/bare", "")).status).toBe(200);
    expect((await post(app, "/bare", "{}")).status).toBe(200);
    expect((await post(app, "/maybe", "")).status).toBe(200);
  });

  test("unknown fields are 400 naming them, where a body is declared and where none is", async () => {
    const { app, calls } = appWith();
    const one = await post(app, "/things", '{"n":1,"zz_unknown":1}');
    expect(one.status).toBe(400);
    expect((await error(one)).message).toBe("zz_unknown: unknown field");
    const two = await post(app, "/maybe", '{"a":1,"b":2}');
    expect((await error(two)).message).toBe("a, b: unknown fields");
    const bare = await post(app, "/bare", '{"force":true}');
    expect(bare.status).toBe(400);
    expect((await error(bare)).message).toBe("force: unknown field");
    expect(calls).toEqual([]);
  });

  test("a key given twice is 400 naming it (JSON.parse would keep the last silently)", async () => {
    const { app, calls } = appWith();
    const res = await post(app, "/things", '{"n":1,"label":"a","n":2}');
    expect(res.status).toBe(400);
    expect((await error(res)).message).toBe("n: given more than once");
    // Escaped spellings of the same key are the same key.
    const escaped = await post(app, "/things", '{"n":1,"\\u006e":2}');
    expect((await error(escaped)).message).toBe("n: given more than once");
    expect((await post(app, "/things", '{"n":1,"label":"n, n"}')).status).toBe(200);
    expect(calls).toEqual([{ n: 1, label: "n, n" }]);
    expect(duplicateKey('{"a":{"b":1,"c":[{"d":1,"d":2}]}}')).toBe("a.c.d");
    expect(duplicateKey('{"a":{"b":1},"b":{"b":1}}')).toBeUndefined();
  });

  test("the body's size is enforced while it is read: a large chunked body is abandoned early", async () => {
    const { app, calls } = appWith({ ...testSecurity, maxBodyBytes: 1000 });
    let pulled = 0;
    const chunk = new TextEncoder().encode(" ".repeat(512));
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        if (pulled > 2000) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const res = await app.request("/things", {
      method: "POST",
      headers: authorised,
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect((await error(res)).code).toBe("payload_too_large");
    // 1000 bytes are 2 chunks; the stream may run a little ahead, never to its 1 MB end.
    expect(pulled).toBeLessThan(10);
    expect(calls).toEqual([]);
  });
});

describe("strict queries", () => {
  test("a parameter given twice is 400 naming it", async () => {
    const { app } = appWith();
    const res = await app.request("/things?id=1&id=2");
    expect(res.status).toBe(400);
    expect((await error(res)).message).toBe("id: given more than once");
    expect(await (await app.request("/things?id=2")).json()).toEqual({ id: 2 });
  });
});

describe("request ids", () => {
  test("a plain client id is kept; anything else is replaced by a fresh UUID", async () => {
    const { app } = appWith();
    const id = async (value: string) =>
      (await app.request("/things", { headers: { "x-request-id": value } })).headers.get("x-request-id");
    expect(await id("abc-123_X=")).toBe("abc-123_X=");
    for (const forged of ["a b", "<script>", "x".repeat(65), "id\u0001", "\u00e9t\u00e9"]) {
      const got = await id(forged);
      expect(got).not.toBe(forged);
      expect(got).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});
