import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "@adpipe/shared/testing";

const dataDir = mkdtempSync(join(tmpdir(), "adpipe-ch-cli-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

test("the CLI prints one line when listening and stops cleanly on SIGINT", async () => {
  const proc = Bun.spawn(
    [process.execPath, join(import.meta.dir, "cli.ts"), "--port", "0", "--data", dataDir],
    {
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const reader = proc.stdout.getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
  expect(url).toBeDefined();
  expect(await fetch(`${url}/ping`).then((r) => r.text())).toBe("Ok.\n");
  proc.kill("SIGINT");
  expect(await proc.exited).toBe(0);
  expect(await fetch(`${url}/ping`).catch(() => "refused")).toBe("refused");
});

test("the CLI refuses to start without --data, saying how to call it", async () => {
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "cli.ts")], {
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(await proc.exited).toBe(2);
  expect(await new Response(proc.stderr).text()).toContain("usage: clickhouse-embedded --data <dir>");
});

test("a server whose parent died (SIGKILL) stops by itself", async () => {
  const parent = Bun.spawn(
    [
      process.execPath,
      "-e",
      `const { spawnEmbeddedClickHouse } = await import(${JSON.stringify(join(import.meta.dir, "spawn.ts"))});
       const s = await spawnEmbeddedClickHouse({ dataDir: ${JSON.stringify(join(dataDir, "orphan"))} });
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
