/**
 * `bun run bench:clickhouse`: 10 million impression rows as TabSeparated bytes (what COPY
 * writes) inserted through @clickhouse/client into the embedded server, against chDB inserting
 * the same bytes in-process, both into the OLAP schema's `impressions` table. Then the two ways
 * a `_current` view can pick the newest version (FINAL, argMax) over the loaded table.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createClickHouse } from "@adpipe/shared/clickhouse";
import { UPSERT_COLUMNS } from "@adpipe/shared/contract";
import { loadOlapMigrations, migrateOlap } from "@adpipe/shared/olap-migrate";
import { Session } from "chdb";
import { spawnEmbeddedClickHouse } from "../src/spawn.ts";
import { impressionsTsv } from "./impressions-tsv.ts";

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const columns = UPSERT_COLUMNS.impressions as [string, ...string[]];
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rate = (ms: number) => `${Math.round(ROWS / (ms / 1000)).toLocaleString("en-US")} rows/s`;
const line = (label: string, ms: number) =>
  console.log(`${label.padEnd(68)} ${seconds(ms).padStart(8)}  ${rate(ms)}`);

/** The entity tables' DDL, from the migration file itself, for the in-process engine. */
const entityDdl = (database: string) =>
  (loadOlapMigrations()[0]?.statements ?? []).map((s) => s.replaceAll("{database}", database));

const work = mkdtempSync(join(tmpdir(), "adpipe-bench-ch-"));
try {
  let t = performance.now();
  const tsv = impressionsTsv(ROWS);
  console.log(
    `generated ${ROWS.toLocaleString("en-US")} rows, ${(tsv.length / 1e6).toFixed(0)} MB of COPY text in ${seconds(performance.now() - t)}`,
  );

  // 1. Over HTTP: @clickhouse/client -> embedded server (a separate process) -> chDB.
  const server = await spawnEmbeddedClickHouse({ dataDir: join(work, "server") });
  const client = createClickHouse({ url: server.url, user: "default", password: "", database: "bench" });
  let httpMs: number;
  let finalMs = Number.NaN;
  let argMaxMs = Number.NaN;
  try {
    const admin = createClickHouse({ url: server.url, user: "default", password: "" });
    await migrateOlap(admin, "bench");
    await admin.close();
    const slices = function* () {
      for (let off = 0; off < tsv.length; off += 1 << 20) yield tsv.subarray(off, off + (1 << 20));
    };
    t = performance.now();
    await client.insert({
      table: "impressions",
      values: Readable.from(slices(), { objectMode: false }),
      format: "TabSeparated",
      columns,
    });
    httpMs = performance.now() - t;
    const count = await client
      .query({ query: "SELECT count() AS c FROM impressions", format: "JSONEachRow" })
      .then((r) => r.json<{ c: string }>());
    if (Number(count[0]?.c) !== ROWS) throw new Error(`HTTP insert wrote ${count[0]?.c} rows`);

    // FINAL vs argMax for the _current views, per campaign (what the reporter reads).
    const best = async (query: string) => {
      let min = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 3; i++) {
        const s = performance.now();
        await client.query({ query, format: "JSONEachRow" }).then((r) => r.json());
        min = Math.min(min, performance.now() - s);
      }
      return min;
    };
    finalMs = await best("SELECT campaign_id, count() AS n FROM impressions_current GROUP BY campaign_id");
    argMaxMs = await best(
      "SELECT campaign_id, count() AS n FROM (SELECT id, argMax(campaign_id, _version) AS campaign_id, argMax(_deleted, _version) AS deleted, max(_version) AS v FROM impressions GROUP BY id) WHERE deleted = 0 AND v > (SELECT max(_version) FROM truncations WHERE table_name = 'impressions') GROUP BY campaign_id",
    );
  } finally {
    await client.close();
    await server.stop();
  }

  // 2. In-process chDB, same bytes, same table: its raw-bytes API, and its file reader.
  const session = new Session(join(work, "in-process"));
  await session.queryAsync("CREATE DATABASE raw");
  await session.queryAsync("CREATE DATABASE viafile");
  for (const ddl of [...entityDdl("raw"), ...entityDdl("viafile")]) await session.queryAsync(ddl);
  // The file path first: the raw insert leaves merges running that would slow whatever follows.
  t = performance.now();
  const spool = join(work, "impressions.tsv");
  writeFileSync(spool, tsv);
  const engineStart = performance.now();
  await session.queryAsync(
    `INSERT INTO viafile.impressions (${columns.join(", ")}) SELECT * FROM file('${spool}', 'TabSeparated')`,
  );
  const fileMs = performance.now() - t;
  const engineOnlyMs = performance.now() - engineStart;
  t = performance.now();
  await session.insert({ table: "raw.impressions", values: tsv, format: "TabSeparated", columns });
  const rawMs = performance.now() - t;
  const counts = (
    await session.queryAsync(
      "SELECT (SELECT count() FROM raw.impressions), (SELECT count() FROM viafile.impressions)",
      { format: "TSV" },
    )
  )
    .text()
    .trim();
  if (counts !== `${ROWS}\t${ROWS}`) throw new Error(`in-process inserts wrote ${counts} rows`);
  session.close();

  console.log("");
  line("chDB in-process, Session.insert(raw bytes)", rawMs);
  line("chDB in-process, bytes -> file -> INSERT ... FROM file()", fileMs);
  line("  of which INSERT ... FROM file() alone (file already written)", engineOnlyMs);
  line("@clickhouse/client -> HTTP -> embedded server (separate process)", httpMs);
  const fastest = Math.min(rawMs, fileMs);
  console.log(
    `ratio HTTP / fastest in-process from the same bytes in memory: ${(httpMs / fastest).toFixed(2)} (target <= 1.3)`,
  );
  console.log(`ratio HTTP / Session.insert(raw bytes): ${(httpMs / rawMs).toFixed(2)}`);
  console.log(
    `ratio HTTP / INSERT ... FROM file() alone (the engine's floor): ${(httpMs / engineOnlyMs).toFixed(2)}`,
  );
  console.log("");
  console.log(
    `impressions per campaign, newest versions: FINAL ${finalMs.toFixed(0)} ms, argMax ${argMaxMs.toFixed(0)} ms (best of 3)`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
