import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EmbeddedClickHouse, spawnEmbeddedClickHouse } from "./spawn.ts";
import { startTestClickHouse, type TestClickHouse } from "./testing.ts";

// Issue 31: the embedded server answers no one who has not authenticated, and no page of
// another site even with the credentials (a web page can make the browser send a `text/plain`
// POST to a loopback port, with `?user=&password=` in its URL, without any preflight).

let ch: TestClickHouse;
let secrets: string;
beforeAll(async () => {
  ch = await startTestClickHouse();
  secrets = mkdtempSync(join(tmpdir(), "adpipe-ch-secret-"));
  writeFileSync(join(secrets, "api-token"), "the-api-token\n", { mode: 0o600 });
});
afterAll(async () => {
  await ch.stop();
  rmSync(secrets, { recursive: true, force: true });
});

const post = (sql: string, headers: Record<string, string> = {}, search = "") =>
  fetch(`${ch.url}/${search}`, {
    method: "POST",
    headers: { "content-type": "text/plain", ...headers },
    body: sql,
  });
const asOwner = () => ({ "X-ClickHouse-User": ch.user, "X-ClickHouse-Key": ch.password });
const ownerInUrl = () => `?user=${ch.user}&password=${ch.password}`;
const tableExists = async (name: string) =>
  (await (await post(`EXISTS TABLE ${ch.database}.${name}`, asOwner())).text()).trim() === "1";

describe("embedded server: every caller authenticates", () => {
  test("an anonymous query is refused: it reads no file and creates no table", async () => {
    const read = await post(`SELECT * FROM file('${join(secrets, "api-token")}', 'LineAsString')`);
    expect(read.status).toBe(403);
    expect(read.headers.get("x-clickhouse-exception-code")).toBe("516");
    expect(await read.text()).not.toContain("the-api-token");
    const create = await post(`CREATE TABLE ${ch.database}.anon (x UInt8) ENGINE = Memory`);
    expect(create.status).toBe(403);
    expect(await tableExists("anon")).toBe(false);
    // The same as the nameless `default` with an empty password, by every way of naming it.
    const nameless: Record<string, string>[] = [
      { "X-ClickHouse-User": "default" },
      { authorization: `Basic ${btoa("default:")}` },
    ];
    for (const headers of nameless) expect((await post("SELECT 1", headers)).status).toBe(403);
  });
});

describe("embedded server: refuses what a page of another site sends", () => {
  test("a cross-origin text/plain query is refused, even with the owner's credentials", async () => {
    const sql = `CREATE TABLE ${ch.database}.from_page (x UInt8) ENGINE = Memory`;
    for (const origin of ["http://evil.example", "null", "http://127.0.0.1:1"]) {
      const res = await post(sql, { origin }, ownerInUrl());
      expect([origin, res.status]).toEqual([origin, 403]);
      expect(await res.text()).toContain("another site");
    }
    const fetchMeta = await post(sql, { "sec-fetch-site": "cross-site" }, ownerInUrl());
    expect(fetchMeta.status).toBe(403);
    expect(await tableExists("from_page")).toBe(false);
    // The server's own origin, and no Origin at all (clients, curl), are answered.
    const own = await post("SELECT 1", { ...asOwner(), origin: new URL(ch.url).origin });
    expect(await own.text()).toBe("1\n");
  });

  test("a Host that is not this machine's is refused (DNS rebinding): 421", async () => {
    const url = new URL(ch.url);
    // fetch() sets Host from the URL; a raw request sends the name a rebinding page would.
    const answer = await rawRequest(url.port, "evil.example", asOwner());
    expect(answer).toMatch(/^HTTP\/1\.1 421/);
    expect(await rawRequest(url.port, `localhost:${url.port}`, asOwner())).toMatch(/^HTTP\/1\.1 200/);
  });
});

describe("embedded server: opened deliberately", () => {
  let open: EmbeddedClickHouse;
  const dataDir = mkdtempSync(join(tmpdir(), "adpipe-ch-open-"));
  beforeAll(async () => {
    // Readable by everyone before the server starts: it must close it (chDB writes files 0644).
    chmodSync(dataDir, 0o755);
    open = await spawnEmbeddedClickHouse({
      dataDir,
      password: "tool-test",
      allowedOrigins: ["http://localhost:8124"],
      allowedHosts: ["clickhouse.internal"],
    });
  });
  afterAll(async () => {
    await open.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("--allow-origin lets one tool's page in, with CORS; --allowed-hosts adds a name", async () => {
    const preflight = await fetch(`${open.url}/`, {
      method: "OPTIONS",
      headers: { origin: "http://localhost:8124", "access-control-request-headers": "authorization" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("http://localhost:8124");
    const res = await fetch(`${open.url}/?query=SELECT%204`, {
      headers: { origin: "http://localhost:8124", authorization: `Basic ${btoa("default:tool-test")}` },
    });
    expect(await res.text()).toBe("4\n");
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:8124");
    const other = await fetch(`${open.url}/?query=SELECT%204`, {
      headers: { origin: "http://localhost:9999", authorization: `Basic ${btoa("default:tool-test")}` },
    });
    expect(other.status).toBe(403);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const port = new URL(open.url).port;
    const auth = { authorization: `Basic ${btoa("default:tool-test")}` };
    expect(await rawRequest(port, "clickhouse.internal:8123", auth)).toMatch(/^HTTP\/1\.1 200/);
  });

  test("the server's data folder is the owner's alone (0700), whatever it was", () => {
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  });
});

/** One HTTP/1.1 GET `SELECT 1` with a Host header of our choosing; the answer's text. */
async function rawRequest(port: string, host: string, headers: Record<string, string>): Promise<string> {
  const lines = [
    "GET /?query=SELECT%201 HTTP/1.1",
    `Host: ${host}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    "Connection: close",
    "",
    "",
  ];
  let text = "";
  await new Promise<void>((resolve, reject) => {
    Bun.connect({
      hostname: "127.0.0.1",
      port: Number(port),
      socket: {
        open: (s) => void s.write(lines.join("\r\n")),
        data: (_s, chunk) => {
          text += new TextDecoder().decode(chunk);
        },
        close: () => resolve(),
        error: (_s, err) => reject(err),
      },
    }).catch(reject);
  });
  return text;
}
