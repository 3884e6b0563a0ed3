// Issue 31's "done when", as a new user meets it: a fresh `bun start` with nothing configured,
// then each attack of the issue tried against what it started. Every one must be refused.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { streams } from "@adpipe/shared/contract";
import { connectNats } from "@adpipe/shared/nats";
import {
  type Cleanups,
  processesNaming,
  runCleanups,
  runStart,
  type StartRun,
  startEnv,
  stopAndRemove,
  waitFor,
} from "./start-process.ts";

const cleanups: Cleanups = [];
let run: StartRun;
let token: string;
const port = (name: string) => Number(run.env[name]);
const clickhouse = () => `http://127.0.0.1:${port("ADPIPE_CLICKHOUSE_PORT")}`;

beforeAll(async () => {
  const { home, env } = await startEnv();
  // Open to everyone, as a folder made by hand would be: bun start must close it.
  chmodSync(home, 0o755);
  run = runStart(home, env);
  cleanups.push(() => stopAndRemove(run));
  await waitFor(
    "bun start running",
    120_000,
    async () => run.output().includes("running (") || undefined,
    run.output,
  );
  token = readFileSync(join(home, "api-token"), "utf8").trim();
}, 150_000);
afterAll(async () => {
  await runCleanups(cleanups);
});

/** One raw HTTP/1.1 request, so the Host header is the one a DNS-rebinding page would send. */
async function rawGet(target: number, path: string, host: string): Promise<number> {
  let text = "";
  await new Promise<void>((resolve, reject) => {
    Bun.connect({
      hostname: "127.0.0.1",
      port: target,
      socket: {
        open: (s) => void s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
        data: (_s, chunk) => {
          text += new TextDecoder().decode(chunk);
        },
        close: () => resolve(),
        error: (_s, err) => reject(err),
      },
    }).catch(reject);
  });
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
}

/** A service process's environment, from /proc (what any process of the same user can read). */
function environ(service: string): Record<string, string> {
  const p = processesNaming(run.home).find((x) => x.cwd.endsWith(join("services", service)));
  if (!p) throw new Error(`no ${service} process`);
  const entries = readFileSync(`/proc/${p.pid}/environ`, "utf8").split("\0").filter(Boolean);
  return Object.fromEntries(
    entries.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
}

test("ClickHouse: an anonymous query cannot read the API token with file()", async () => {
  const sql = `SELECT * FROM file('${join(run.home, "api-token")}', 'LineAsString')`;
  const res = await fetch(`${clickhouse()}/?query=${encodeURIComponent(sql)}`);
  expect(res.status).toBe(403);
  expect(res.headers.get("x-clickhouse-exception-code")).toBe("516");
  expect(await res.text()).not.toContain(token);
});

test("ClickHouse: anonymous CREATE TABLE, and a cross-origin text/plain query, change nothing", async () => {
  const create = "CREATE TABLE adpipe.evil (x UInt8) ENGINE = Memory";
  const anonymous = await fetch(`${clickhouse()}/`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: create,
  });
  expect(anonymous.status).toBe(403);
  // What fetch(..., {mode: "no-cors"}) from a page sends, even knowing the owner's password.
  const password = readFileSync(join(run.home, "clickhouse-owner-password"), "utf8").trim();
  const page = await fetch(`${clickhouse()}/?user=default&password=${encodeURIComponent(password)}`, {
    method: "POST",
    headers: { "content-type": "text/plain", origin: "http://evil.example", "sec-fetch-site": "cross-site" },
    body: create,
  });
  expect(page.status).toBe(403);
  const exists = await fetch(`${clickhouse()}/?query=${encodeURIComponent("EXISTS TABLE adpipe.evil")}`, {
    headers: { "X-ClickHouse-User": "default", "X-ClickHouse-Key": password },
  });
  expect(await exists.text()).toBe("0\n");
});

test("DNS rebinding: GET /kpis/campaigns and GET /stats with Host: evil.example are refused", async () => {
  expect(await rawGet(port("REPORTER_PORT"), "/kpis/campaigns", "evil.example")).toBe(421);
  expect(await rawGet(port("GENERATOR_PORT"), "/stats", `evil.example:${port("GENERATOR_PORT")}`)).toBe(421);
  expect(await rawGet(port("REPORTER_PORT"), "/kpis/campaigns", `127.0.0.1:${port("REPORTER_PORT")}`)).toBe(
    200,
  );
  expect(await rawGet(port("ADPIPE_CLICKHOUSE_PORT"), "/ping", "evil.example")).toBe(421);
});

test("malformed JSON on POST /verify and POST /reports/rebuild is 400 with a valid token", async () => {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  for (const [name, path] of [
    ["EXTRACTOR_PORT", "/verify"],
    ["REPORTER_PORT", "/reports/rebuild"],
  ] as const) {
    const res = await fetch(`http://127.0.0.1:${port(name)}${path}`, {
      method: "POST",
      headers,
      body: "{{{not json",
    });
    expect([path, res.status]).toEqual([path, 400]);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe("body: invalid JSON");
  }
});

test("an unknown field on POST /generate/batch is 400 naming it", async () => {
  const res = await fetch(`http://127.0.0.1:${port("GENERATOR_PORT")}/generate/batch`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: '{"zz_unknown":1}',
  });
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
    "zz_unknown: unknown field",
  );
});

test("credentials by need: no PostgreSQL URL for the loader and the reporter, no superuser for anyone", () => {
  for (const service of ["loader", "reporter"]) {
    const env = environ(service);
    expect([service, env.DATABASE_URL]).toEqual([service, undefined]);
    expect([service, Object.values(env).some((v) => v.includes("postgres://"))]).toEqual([service, false]);
  }
  for (const service of ["generator", "extractor", "loader", "reporter"]) {
    const url = environ(service).DATABASE_URL;
    if (url) expect([service, new URL(url).username]).toEqual([service, `adpipe_${service}_user`]);
  }
});

test("NATS: the loader's user may not update the delta stream", async () => {
  const env = environ("loader");
  const nc = await connectNats({ url: env.NATS_URL ?? "", user: env.NATS_USER, pass: env.NATS_PASSWORD });
  try {
    const jsm = await nc.jetstreamManager();
    const delta = streams("adpipe").delta;
    const info = await jsm.streams.info(delta);
    const update = await jsm.streams
      .update(delta, { ...info.config, description: "changed by the loader", max_msgs: 1 })
      .then(
        () => "updated",
        (err: Error) => err.message,
      );
    expect(update).toMatch(/permissions violation/i);
    expect((await jsm.streams.info(delta)).config.max_msgs).toBe(-1);
  } finally {
    await nc.close();
  }
});

test("a request path cannot forge a log line in bun start's output", async () => {
  const forged = "/x%0Agenerator|%2006:00:00%20info%20%20audit%20forged%00";
  const res = await fetch(`http://127.0.0.1:${port("GENERATOR_PORT")}${forged}`, {
    method: "POST",
    body: "{}",
  });
  expect(res.status).toBe(401);
  const shown = await waitFor(
    "the refused call's audit line",
    10_000,
    async () =>
      run
        .output()
        .split("\n")
        .find((l) => l.includes("audit forged")),
    run.output,
  );
  // On the generator's own line, escaped; never a line of its own, never a raw NUL.
  expect(shown).toContain("route=/x\\ngenerator| 06:00:00 info  audit forged\\x00");
  expect(
    run
      .output()
      .split("\n")
      .some((l) => l.startsWith("generator| 06:00:00")),
  ).toBe(false);
  expect(run.output()).not.toContain("\0");
});

test("the dashboard and the API answer with CSP (no inline script), nosniff and no framing", async () => {
  const reporter = `http://127.0.0.1:${port("REPORTER_PORT")}`;
  for (const path of ["/", "/kpis/campaigns", "/dashboard/app.js"]) {
    const res = await fetch(`${reporter}${path}`);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect([path, csp.includes("script-src 'self';"), csp.includes("frame-ancestors 'none'")]).toEqual([
      path,
      true,
      true,
    ]);
    expect([path, res.headers.get("x-content-type-options")]).toEqual([path, "nosniff"]);
    expect([path, res.headers.get("x-frame-options")]).toEqual([path, "DENY"]);
    if (path === "/") expect(await res.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  }
});

test("data folders are the owner's alone", () => {
  // As root, the embedded PostgreSQL's user may pass through .adpipe (o+x), never list or read it.
  expect(statSync(run.home).mode & 0o076).toBe(0);
  expect(statSync(join(run.home, "clickhouse")).mode & 0o077).toBe(0);
});
