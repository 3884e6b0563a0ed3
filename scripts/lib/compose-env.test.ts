import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { composeEnv, isSecret } from "./compose-env.ts";

// What `bun run compose:env` writes against what both compose files require. Needs Debian's
// docker-compose (CI installs it), like scripts/compose-files.test.ts.
const root = join(import.meta.dir, "..", "..");
const example = readFileSync(join(root, ".env.example"), "utf8");
const FILES = ["docker-compose.yml", "docker-compose.cluster.yml"];

const config = (file: string, envFile: string) =>
  Bun.spawnSync(["docker-compose", "--env-file", envFile, "-f", file, "config", "-q"], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });

test("every variable compose requires is a secret the example leaves empty", () => {
  const required = new Set(
    FILES.flatMap((f) => [...readFileSync(join(root, f), "utf8").matchAll(/\$\{([A-Z][A-Z0-9_]*):\?/g)]).map(
      (m) => m[1] as string,
    ),
  );
  const inExample = new Map([...example.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1], m[2]]));
  for (const name of required) expect([name, isSecret(name), inExample.get(name)]).toEqual([name, true, ""]);
  // And no password or token has a default in either file (the optional read token aside).
  for (const f of FILES) {
    const defaulted = [...readFileSync(join(root, f), "utf8").matchAll(/\$\{([A-Z][A-Z0-9_]*):-/g)]
      .map((m) => m[1] as string)
      .filter((n) => isSecret(n) || (n.endsWith("_TOKEN") && n !== "ADPIPE_READ_TOKEN"));
    expect([f, defaulted]).toEqual([f, []]);
  }
});

test("the generated file starts both compose files; the example as it is, and a repeat, do not", () => {
  const dir = mkdtempSync(join(tmpdir(), "adpipe-compose-env-"));
  try {
    const first = composeEnv(example);
    const second = composeEnv(example);
    expect(first.secrets.length).toBeGreaterThan(10);
    const values = (text: string) => text.split("\n").filter((l) => isSecret(l.split("=")[0] ?? ""));
    // Fresh secrets each time, nothing else changed.
    for (const [a, b] of values(first.text).map((l, i) => [l, values(second.text)[i]])) expect(a).not.toBe(b);
    const others = (text: string) => text.split("\n").filter((l) => !isSecret(l.split("=")[0] ?? ""));
    expect(others(first.text)).toEqual(others(example));

    writeFileSync(join(dir, "generated.env"), first.text);
    writeFileSync(join(dir, "example.env"), example);
    for (const file of FILES) {
      const ok = config(file, join(dir, "generated.env"));
      expect([file, ok.exitCode, ok.stderr.toString()]).toEqual([file, 0, ""]);
      const refused = config(file, join(dir, "example.env"));
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr.toString()).toMatch(/set [A-Z_]+ in \.env \(bun run compose:env writes one\)/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

test("the CLI writes .env owner-only and never overwrites one", () => {
  const dir = mkdtempSync(join(tmpdir(), "adpipe-compose-env-"));
  const out = join(dir, ".env");
  const run = (...args: string[]) =>
    Bun.spawnSync(["bun", join(root, "scripts", "compose-env.ts"), "--out", out, ...args], { cwd: dir });
  try {
    const written = run();
    expect(written.exitCode).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const kept = readFileSync(out, "utf8");
    const again = run();
    expect(again.exitCode).toBe(1);
    expect(again.stderr.toString()).toContain("exists: kept as it is");
    expect(readFileSync(out, "utf8")).toBe(kept);
    expect(run("--force").exitCode).toBe(0);
    expect(readFileSync(out, "utf8")).not.toBe(kept);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
