import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { composeClickHouseInit } from "./clickhouse-compose-init.ts";

const file = join(import.meta.dir, "..", "compose", "clickhouse-init.sh");

test("compose/clickhouse-init.sh is the generated one (regenerate it after changing olap-roles.ts)", () => {
  expect(readFileSync(file, "utf8")).toBe(composeClickHouseInit());
  // The image's entrypoint executes an executable script (and would source one that is not).
  expect(statSync(file).mode & 0o111).not.toBe(0);
});

test("the script runs in sh: it refuses a password a SQL string cannot hold, naming the variable", async () => {
  const env = {
    PATH: "/usr/bin:/bin",
    ADPIPE_CLICKHOUSE_DATABASE: "adpipe",
    LOADER_CLICKHOUSE_PASSWORD: "it's",
    REPORTER_CLICKHOUSE_PASSWORD: "r",
    EXTRACTOR_CLICKHOUSE_PASSWORD: "e",
    READER_CLICKHOUSE_PASSWORD: "x",
    CLICKHOUSE_USER: "adpipe",
    CLICKHOUSE_PASSWORD: "adpipe",
  };
  const proc = Bun.spawn(["sh", file], { env, stdout: "pipe", stderr: "pipe" });
  expect(await proc.exited).toBe(1);
  expect(await new Response(proc.stderr).text()).toContain(
    "LOADER_CLICKHOUSE_PASSWORD must be set, without '",
  );
});

test("the script hands the owner's client the users' SQL for the configured database and passwords", async () => {
  const bin = mkdtempSync(join(tmpdir(), "adpipe-fake-clickhouse-"));
  try {
    // A stand-in for `clickhouse client` that records its arguments and the SQL it was given.
    writeFileSync(join(bin, "clickhouse"), `#!/bin/sh\necho "$@" > "${bin}/args"\ncat > "${bin}/sql"\n`, {
      mode: 0o755,
    });
    const env = {
      PATH: `${bin}:/usr/bin:/bin`,
      ADPIPE_CLICKHOUSE_DATABASE: "shop",
      LOADER_CLICKHOUSE_PASSWORD: "l-pw",
      REPORTER_CLICKHOUSE_PASSWORD: "r-pw",
      EXTRACTOR_CLICKHOUSE_PASSWORD: "e-pw",
      READER_CLICKHOUSE_PASSWORD: "x-pw",
      CLICKHOUSE_USER: "owner",
      CLICKHOUSE_PASSWORD: "owner-pw",
    };
    const proc = Bun.spawn(["sh", file], { env, stdout: "pipe", stderr: "pipe" });
    expect(await proc.exited).toBe(0);
    expect(readFileSync(join(bin, "args"), "utf8")).toContain("--user owner --password owner-pw");
    const sql = readFileSync(join(bin, "sql"), "utf8");
    expect(sql).toContain(
      "CREATE USER IF NOT EXISTS adpipe_loader IDENTIFIED WITH sha256_password BY 'l-pw';",
    );
    expect(sql).toContain("GRANT INSERT ON shop.advertiser TO adpipe_loader;");
    expect(sql).toContain("GRANT SELECT ON shop_seed.* TO adpipe_reader;");
    expect(sql).toContain("BY 'x-pw' SETTINGS readonly = 2;");
    expect(sql).not.toContain("$");
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});
