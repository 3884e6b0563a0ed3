import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "@adpipe/shared/testing";

const dataDir = mkdtempSync(join(tmpdir(), "adpipe-ch-cli-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const cli = join(import.meta.dir, "cli.ts");
/** The environment without ClickHouse credentials a developer's shell may hold. */
const { CLICKHOUSE_USER: _u, CLICKHOUSE_PASSWORD: _p, ...clean } = process.env;

test("the CLI prints one line when listening and stops cleanly on SIGINT", async () => {
  const proc = Bun.spawn([process.execPath, cli, "--port", "0", "--data", dataDir], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...clean, CLICKHOUSE_PASSWORD: "cli-test-password" },
  });
  const reader = proc.stdout.getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
  expect(url).toBeDefined();
  expect(out).toContain("owner default, password required");
  expect(await fetch(`${url}/ping`).then((r) => r.text())).toBe("Ok.\n");
  // CLICKHOUSE_USER / CLICKHOUSE_PASSWORD are the owner's credentials; nothing answers without them.
  const anonymous = await fetch(`${url}/?query=SELECT%201`);
  expect(anonymous.status).toBe(403);
  expect(anonymous.headers.get("x-clickhouse-exception-code")).toBe("516");
  const owner = await fetch(`${url}/?query=SELECT%201`, {
    headers: { "X-ClickHouse-User": "default", "X-ClickHouse-Key": "cli-test-password" },
  });
  expect(await owner.text()).toBe("1\n");
  proc.kill("SIGINT");
  expect(await proc.exited).toBe(0);
  expect(await fetch(`${url}/ping`).catch(() => "refused")).toBe("refused");
});

test("the CLI refuses to start without --data, saying how to call it", async () => {
  const proc = Bun.spawn([process.execPath, cli], { stdout: "pipe", stderr: "pipe", env: clean });
  expect(await proc.exited).toBe(2);
  expect(await new Response(proc.stderr).text()).toContain("usage: clickhouse-embedded --data <dir>");
});

test("without a password the CLI refuses to start; --insecure opens it, loudly", async () => {
  const refused = Bun.spawn([process.execPath, cli, "--port", "0", "--data", join(dataDir, "open")], {
    stdout: "pipe",
    stderr: "pipe",
    env: clean,
  });
  expect(await refused.exited).toBe(2);
  const why = await new Response(refused.stderr).text();
  expect(why).toContain('no password for the owner "default": set CLICKHOUSE_PASSWORD');
  expect(why).toContain("--insecure");

  const open = Bun.spawn(
    [process.execPath, cli, "--port", "0", "--data", join(dataDir, "open"), "--insecure"],
    { stdout: "pipe", stderr: "pipe", env: clean },
  );
  try {
    const reader = open.stdout.getReader();
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    expect(out).toContain("INSECURE: no password");
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    expect(await fetch(`${url}/?query=SELECT%202`).then((r) => r.text())).toBe("2\n");
    // Still not from another site's page: the browser guard holds in development mode too.
    const cross = await fetch(`${url}/`, {
      method: "POST",
      headers: { origin: "http://evil.example", "content-type": "text/plain" },
      body: "SELECT 3",
    });
    expect(cross.status).toBe(403);
  } finally {
    open.kill("SIGTERM");
    await open.exited;
  }
  expect(await new Response(open.stderr).text()).toContain("INSECURE DEVELOPMENT MODE");
});

test("a server whose parent died (SIGKILL) stops by itself", async () => {
  const parent = Bun.spawn(
    [
      process.execPath,
      "-e",
      `const { spawnEmbeddedClickHouse } = await import(${JSON.stringify(join(import.meta.dir, "spawn.ts"))});
       const s = await spawnEmbeddedClickHouse({ dataDir: ${JSON.stringify(join(dataDir, "orphan"))}, password: "orphan-test" });
       console.log(s.pid); await Bun.sleep(60_000);`,
    ],
    { stdout: "pipe", stderr: "inherit" },
  );
  const reader = parent.stdout.getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  const child = Number(out.trim());
  expect(child).toBeGreaterThan(0);
  parent.kill("SIGKILL");
  await waitFor(
    () => {
      try {
        process.kill(child, 0);
        return false;
      } catch {
        return true;
      }
    },
    { what: "the orphaned server to exit", timeoutMs: 10_000 },
  );
});
