// `bun start` secure by default: every port it opens listens on loopback only, it creates the
// control token once (owner-only file, reused by the next run), prints how to use it, and the
// services refuse a mutating call without it.
import { afterAll, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ClickHouseError, createClickHouse } from "@adpipe/shared/clickhouse";
import pg from "pg";
import {
  type Cleanups,
  processesNaming,
  runCleanups,
  runStart,
  startEnv,
  stopAndRemove,
  waitFor,
} from "./start-process.ts";

const cleanups: Cleanups = [];
afterAll(async () => {
  await runCleanups(cleanups);
});

/** `ss -ltnH` rows as [local address, port]. */
async function listening(): Promise<[string, number][]> {
  const out = await new Response(Bun.spawn(["ss", "-ltnH"], { stdout: "pipe" }).stdout).text();
  return out
    .split("\n")
    .map((line) => line.trim().split(/\s+/)[3])
    .filter((local): local is string => Boolean(local))
    .map((local) => {
      const i = local.lastIndexOf(":");
      return [local.slice(0, i), Number(local.slice(i + 1))];
    });
}
const loopback = (address: string) => /^(127\.\d+\.\d+\.\d+|\[::1\]|::1)$/.test(address.replace(/%.*$/, ""));

test("bun start listens on loopback only and guards mutating routes with a token it keeps", async () => {
  const { home, env } = await startEnv();
  const run = runStart(home, env);
  cleanups.push(() => stopAndRemove(run));
  await waitFor(
    "bun start running",
    90_000,
    async () => (run.output().includes("running (") ? true : undefined),
    run.output,
  );

  const ours = new Set(run.ports);
  const sockets = (await listening()).filter(([, port]) => ours.has(port));
  // Every service and server port is open, and none of them on a non-loopback address.
  for (const name of ["GENERATOR_PORT", "EXTRACTOR_PORT", "LOADER_PORT", "REPORTER_PORT"])
    expect(sockets.map(([, p]) => p)).toContain(Number(env[name]));
  expect(sockets.filter(([address]) => !loopback(address))).toEqual([]);

  const file = join(home, "api-token");
  const token = readFileSync(file, "utf8").trim();
  expect(token.length).toBeGreaterThanOrEqual(32);
  expect(statSync(file).mode & 0o077).toBe(0);
  expect(run.output()).toContain(`export ADPIPE_API_TOKEN=$(cat ${file})`);
  expect(run.output()).toContain('-H "authorization: Bearer $ADPIPE_API_TOKEN"');

  const extract = (headers: Record<string, string>) =>
    fetch(`http://127.0.0.1:${env.EXTRACTOR_PORT}/extract`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: "{}",
    });
  // The services connect to the embedded PostgreSQL as their own least-privilege users.
  const admin = new pg.Client({
    connectionString: `postgres://postgres:adpipe@127.0.0.1:${env.ADPIPE_POSTGRES_PORT}/adpipe`,
  });
  await admin.connect();
  try {
    // A backend still in its start-up handshake shows the application name but no user yet (seen
    // once in CI as usename null): only sessions that have logged in say who they run as.
    const { rows } = await admin.query(
      "SELECT DISTINCT application_name, usename FROM pg_stat_activity WHERE application_name IN ('adpipe-generator', 'adpipe-extractor') AND usename IS NOT NULL ORDER BY 1",
    );
    expect(rows).toEqual([
      { application_name: "adpipe-extractor", usename: "adpipe_extractor_user" },
      { application_name: "adpipe-generator", usename: "adpipe_generator_user" },
    ]);
  } finally {
    await admin.end();
  }
  expect((await extract({})).status).toBe(401);
  expect((await extract({ authorization: `Bearer ${token}` })).status).toBe(200);

  // ClickHouse: each service runs with its own user (and does not migrate), passwords kept owner-only.
  const serviceEnv = (name: string) => {
    const p = processesNaming(home).find((x) => x.cwd.endsWith(join("services", name)));
    const environ = p ? readFileSync(`/proc/${p.pid}/environ`, "utf8").split("\0") : [];
    return Object.fromEntries(
      environ.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
  };
  for (const name of ["extractor", "loader", "reporter"]) {
    const e = serviceEnv(name);
    expect([e.CLICKHOUSE_USER, e.CLICKHOUSE_MIGRATE]).toEqual([`adpipe_${name}`, "false"]);
    const file = join(home, `clickhouse-${name}-password`);
    expect(e.CLICKHOUSE_PASSWORD).toBe(readFileSync(file, "utf8").trim());
    expect(statSync(file).mode & 0o077).toBe(0);
  }
  const readerPassword = join(home, "clickhouse-reader-password");
  expect(run.output()).toContain(`adpipe_reader, password in ${readerPassword}`);
  const reader = createClickHouse({
    url: `http://127.0.0.1:${env.ADPIPE_CLICKHOUSE_PORT}`,
    user: "adpipe_reader",
    password: readFileSync(readerPassword, "utf8").trim(),
    database: "adpipe",
  });
  try {
    const rs = await reader.query({
      query: "SELECT count() AS n FROM campaign_current",
      format: "JSONEachRow",
    });
    expect((await rs.json()).length).toBe(1);
    const denied = await reader
      .command({ query: "INSERT INTO truncations (table_name, _version, _xid) SELECT 'campaign', 1, 1" })
      .then(
        () => "ok",
        (err) => (err instanceof ClickHouseError ? err.type : String(err)),
      );
    expect(denied).toBe("ACCESS_DENIED");
  } finally {
    await reader.close();
  }
  // The verifier reads ClickHouse as adpipe_extractor (SELECT only): a run completes.
  const verify = await fetch(`http://127.0.0.1:${env.EXTRACTOR_PORT}/verify`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
  });
  expect(verify.status).toBe(200);
}, 180_000);
