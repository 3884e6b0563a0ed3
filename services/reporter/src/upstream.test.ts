import { afterAll, expect, test } from "bun:test";
import { callService } from "./upstream.ts";

// Real sockets on this machine: one that answers, one that accepts and never answers.
const answering = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: (req) =>
    new URL(req.url).pathname === "/missing"
      ? Response.json({ error: { code: "not_found", message: "no such thing" } }, { status: 404 })
      : Response.json({ ok: 1 }),
});
const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
afterAll(() => {
  answering.stop(true);
  silent.stop(true);
});

test("an answer, an error answer with its message, a refusal, a hang cut at the deadline", async () => {
  const base = `http://127.0.0.1:${answering.port}`;
  expect(await callService(base, "/x", 500)).toEqual({ ok: true, status: 200, body: { ok: 1 } });
  expect(await callService(base, "/missing", 500)).toMatchObject({
    ok: false,
    status: 404,
    error: "no such thing",
  });
  expect(await callService("http://127.0.0.1:9", "/health", 500)).toMatchObject({
    ok: false,
    status: null,
    error: "connection refused",
  });
  // The call's own timeout ended it: the server never answers.
  expect(await callService(`http://127.0.0.1:${silent.port}`, "/health", 300)).toMatchObject({
    ok: false,
    error: "no answer within 300 ms",
  });
});
