/**
 * `bun run bench:clickhouse`: 10 million impression rows as TabSeparated bytes (what COPY
 * writes) inserted through @clickhouse/client into the embedded server, against chDB inserting
 * the same bytes in-process, all into the OLAP schema's `impressions` table. HTTP and the
 * in-process file path run twice, alternating, each after background merges settled, and the
 * best of each counts (other work on a 2-core machine moves single timings by ±30 %). Then the
 * two ways a `_current` view can pick the newest version (FINAL, argMax) over the loaded table.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createClickHouse } from "@adpipe/shared/clickhouse";
import { UPSERT_COLUMNS } from "@adpipe/shared/contract";
import { loadOlapMigrations, migrateOlap } from "@adpipe/shared/olap-migrate";
import { waitFor } from "@adpipe/shared/testing";
import { Session } from "chdb";
import { spawnEmbeddedClickHouse } from "../src/spawn.ts";
import { impressionsTsv } from "./impressions-tsv.ts";

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const columns = UPSERT_COLUMNS.impressions as [string, ...string[]];
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rate = (ms: number) => `${Math.round(ROWS / (ms / 1000)).toLocaleString("en-US")} rows/s`;
const line = (label: string, ms: number[]) =>
  console.log(
    `${label.padEnd(66)} ${seconds(Math.min(...ms)).padStart(8)}  ${rate(Math.min(...ms)).padStart(17)}  (runs: ${ms.map(seconds).join(", ")})`,
  );

/** The entity tables' DDL, from the migration file itself, for the in-process engine. */
const entityDdl = (database: string) =>
  (loadOlapMigrations()[0]?.statements ?? []).map((s) => s.replaceAll("{database}", database));
const MERGES = "SELECT count() AS n FROM system.merges";

const work = mkdtempSync(join(tmpdir(), "adpipe-bench-ch-"));
// The owner authenticates, as everywhere: a password made for this run.
const password = crypto.randomUUID();
const server = await spawnEmbeddedClickHouse({ dataDir: join(work, "server"), password });
const admin = createClickHouse({ url: server.url, user: "default", password });
const session = new Session(join(work, "in-process"));
try {
  let t = performance.now();
  const tsv = impressionsTsv(ROWS);
  console.log(
    `generated ${ROWS.toLocaleString("en-US")} rows, ${(tsv.length / 1e6).toFixed(0)} MB of COPY text in ${seconds(performance.now() - t)}`,
  );
  const settle = () =>
    waitFor(
      async () => {
        const server = await admin
          .query({ query: MERGES, format: "JSONEachRow" })
          .then((r) => r.json<{ n: string }>());
        const local = (await session.queryAsync(MERGES, { format: "TSV" })).text().trim();
        return server[0]?.n === "0" && local === "0";
      },
      { timeoutMs: 120_000, intervalMs: 200, what: "background merges to finish" },
    );
  const check = (what: string, got: unknown) => {
    if (String(got) !== String(ROWS)) throw new Error(`${what} wrote ${got} rows, not ${ROWS}`);
  };

  // Over HTTP: @clickhouse/client -> embedded server (a separate process) -> chDB.
  const http = async (database: string) => {
    await migrateOlap(admin, database);
    const client = createClickHouse({ url: server.url, user: "default", password, database });
    const slices = function* () {
      for (let off = 0; off < tsv.length; off += 1 << 20) yield tsv.subarray(off, off + (1 << 20));
    };
    await settle();
    const start = performance.now();
    await client.insert({
      table: "impressions",
      values: Readable.from(slices(), { objectMode: false }),
      format: "TabSeparated",
      columns,
    });
    const ms = performance.now() - start;
    const count = await client.query({
      query: "SELECT count() AS c FROM impressions",
      format: "JSONEachRow",
    });
    check("HTTP insert", (await count.json<{ c: string }>())[0]?.c);
    await client.close();
    return ms;
  };
  // In-process, the fastest way chDB takes bytes it holds: write them to a file, read with file().
  const viaFile = async (database: string) => {
    await session.queryAsync(`CREATE DATABASE ${database}`);
    for (const ddl of entityDdl(database)) await session.queryAsync(ddl);
    await settle();
    const spool = join(work, `${database}.tsv`);
    const start = performance.now();
    writeFileSync(spool, tsv);
    const written = performance.now();
    await session.queryAsync(
      `INSERT INTO ${database}.impressions (${columns.join(", ")}) SELECT * FROM file('${spool}', 'TabSeparated')`,
    );
    const end = performance.now();
    rmSync(spool);
    check(
      "in-process file insert",
      (await session.queryAsync(`SELECT count() FROM ${database}.impressions`)).text().trim(),
    );
    return { total: end - start, engine: end - written };
  };

  const httpMs: number[] = [];
  const fileMs: number[] = [];
  const engineMs: number[] = [];
  for (const round of [1, 2]) {
    httpMs.push(await http(`http${round}`));
    const f = await viaFile(`file${round}`);
    fileMs.push(f.total);
    engineMs.push(f.engine);
  }
  // In-process through chdb's raw-bytes API (its inline-data path): once, it is the slow one.
  await session.queryAsync("CREATE DATABASE raw");
  for (const ddl of entityDdl("raw")) await session.queryAsync(ddl);
  await settle();
  t = performance.now();
  await session.insert({ table: "raw.impressions", values: tsv, format: "TabSeparated", columns });
  const rawMs = [performance.now() - t];
  check(
    "in-process raw insert",
    (await session.queryAsync("SELECT count() FROM raw.impressions")).text().trim(),
  );

  console.log("");
  line("chDB in-process, Session.insert(raw bytes)", rawMs);
  line("chDB in-process, bytes -> file -> INSERT ... SELECT FROM file()", fileMs);
  line("  of which INSERT ... SELECT FROM file() alone", engineMs);
  line("@clickhouse/client -> HTTP -> embedded server (separate process)", httpMs);
  const best = (ms: number[]) => Math.min(...ms);
  const fastest = Math.min(best(rawMs), best(fileMs));
  console.log(
    `ratio HTTP / fastest in-process from the same bytes in memory: ${(best(httpMs) / fastest).toFixed(2)} (target <= 1.3)`,
  );
  console.log(`ratio HTTP / Session.insert(raw bytes): ${(best(httpMs) / best(rawMs)).toFixed(2)}`);
  console.log(
    `ratio HTTP / INSERT ... SELECT FROM file() alone (the engine's floor): ${(best(httpMs) / best(engineMs)).toFixed(2)}`,
  );

  // FINAL vs argMax for the _current views, per campaign (what the reporter reads).
  await settle();
  const client = createClickHouse({ url: server.url, user: "default", password, database: "http1" });
  const timed = async (query: string) => {
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      const s = performance.now();
      await client.query({ query, format: "JSONEachRow" }).then((r) => r.json());
      min = Math.min(min, performance.now() - s);
    }
    return min;
  };
  const finalMs = await timed(
    "SELECT campaign_id, count() AS n FROM impressions_current GROUP BY campaign_id",
  );
  const argMaxMs = await timed(
    "SELECT campaign_id, count() AS n FROM (SELECT id, argMax(campaign_id, _version) AS campaign_id, argMax(_deleted, _version) AS deleted, max(_version) AS v FROM impressions GROUP BY id) WHERE deleted = 0 AND v > (SELECT max(_version) FROM truncations WHERE table_name = 'impressions') GROUP BY campaign_id",
  );
  await client.close();
  console.log("");
  console.log(
    `impressions per campaign over the newest versions: FINAL ${finalMs.toFixed(0)} ms, argMax ${argMaxMs.toFixed(0)} ms (best of 3)`,
  );
} finally {
  session.close();
  await admin.close();
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
