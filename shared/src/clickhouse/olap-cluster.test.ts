import { describe, expect, test } from "bun:test";
import { REPLICA_NAME, REPLICA_PATH, renderForCluster } from "./olap-cluster.ts";
import { loadOlapMigrations } from "./olap-migrate.ts";

// Every migration file in shared/clickhouse, including ones added after this test was written:
// the statements cannot run here (ON CLUSTER needs a cluster and ClickHouse Keeper), so the test
// checks what a cluster would be sent.

const CLUSTER = "adpipe_cluster";
const ON = `ON CLUSTER '${CLUSTER}'`;
const migrations = loadOlapMigrations();
const statements = migrations.flatMap((m) => m.statements.map((statement) => ({ file: m.name, statement })));
/** The object a statement creates, alters or drops: its kind word(s) and `{database}.name`. */
const HEAD =
  /^(CREATE(?:\s+OR\s+REPLACE)?\s+(?:MATERIALIZED\s+VIEW|[A-Z]+)(?:\s+IF\s+NOT\s+EXISTS)?|DROP\s+\w+(?:\s+IF\s+EXISTS)?|ALTER\s+TABLE)\s+(\S+)/i;

describe("cluster DDL for every migration file", () => {
  test("there are migration files to render", () => {
    expect(statements.length).toBeGreaterThan(0);
  });

  for (const { file, statement } of statements) {
    const head = HEAD.exec(statement);
    const kind = head?.[1] ?? statement.split(/\s+/).slice(0, 2).join(" ");
    test(`${file}: ${kind} ${head?.[2] ?? statement.split(/\s+/)[2]}`, () => {
      const rendered = renderForCluster(statement, CLUSTER);
      // A copy runs once, on the migrator's replica; replication carries its parts.
      if (/^INSERT\s+INTO\s+\S+\s+SELECT\s/i.test(statement)) return expect(rendered).toBe(statement);
      // A copy-and-swap's RENAME: ON CLUSTER after its last name.
      if (/^RENAME\s+TABLE\s/i.test(statement)) return expect(rendered).toBe(`${statement} ${ON}`);
      // ON CLUSTER right after the object's name, once.
      expect(head).not.toBeNull();
      expect(rendered.startsWith(`${head?.[0]} ${ON}`)).toBe(true);
      expect(rendered.split("ON CLUSTER").length).toBe(2);
      // Every MergeTree-family engine is replicated, with the same parameters after path and replica.
      const engines = [...statement.matchAll(/ENGINE\s*=\s*(\w*MergeTree)(?:\s*\(([^)]*)\))?/g)];
      const replicated = [...rendered.matchAll(/ENGINE\s*=\s*(\w+)\(([^)]*)\)/g)];
      expect(replicated.length).toBe(engines.length);
      engines.forEach((e, i) => {
        const r = replicated[i] as RegExpMatchArray;
        expect(r[1]).toBe(e[1]?.startsWith("Replicated") ? e[1] : `Replicated${e[1]}`);
        const params = [`'${REPLICA_PATH}'`, `'${REPLICA_NAME}'`, ...(e[2]?.trim() ? [e[2].trim()] : [])];
        expect(r[2]).toBe(params.join(", "));
      });
      expect(rendered).not.toMatch(/ENGINE\s*=\s*(?!Replicated)\w*MergeTree/);
      expect(rendered).not.toContain("non_replicated_deduplication_window");
      // Nothing else changes: the statement minus what was added is the statement.
      const back = rendered
        .replace(` ${ON}`, "")
        .replaceAll(`'${REPLICA_PATH}', '${REPLICA_NAME}'`, "")
        .replaceAll("Replicated", "")
        .replaceAll(/\(, /g, "(")
        .replaceAll("MergeTree()", "MergeTree");
      const original = statement
        .replace(/\s*SETTINGS\s+non_replicated_deduplication_window\s*=\s*\d+\s*$/i, "")
        .trim();
      expect(back).toBe(original);
    });
  }

  test("entity and report tables keep ReplacingMergeTree's _version/_deleted semantics", () => {
    const all = statements.map((s) => renderForCluster(s.statement, CLUSTER)).join("\n");
    const versioned = all.match(/ReplicatedReplacingMergeTree\([^)]*_version, _deleted\)/g) ?? [];
    expect(versioned.length).toBeGreaterThanOrEqual(9); // 4 entity tables + 5 report tables
  });
});

describe("renderForCluster", () => {
  test("handles the statement kinds migrations may use", () => {
    const cases: [string, string][] = [
      ["CREATE DATABASE IF NOT EXISTS {database}", `CREATE DATABASE IF NOT EXISTS {database} ${ON}`],
      [
        "CREATE OR REPLACE VIEW {database}.v AS SELECT 1",
        `CREATE OR REPLACE VIEW {database}.v ${ON} AS SELECT 1`,
      ],
      [
        "CREATE VIEW IF NOT EXISTS {database}_seed.v AS SELECT 1",
        `CREATE VIEW IF NOT EXISTS {database}_seed.v ${ON} AS SELECT 1`,
      ],
      [
        "CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.mv TO {database}.t AS SELECT 1",
        `CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.mv ${ON} TO {database}.t AS SELECT 1`,
      ],
      [
        "ALTER TABLE {database}.t ADD COLUMN IF NOT EXISTS x UInt8",
        `ALTER TABLE {database}.t ${ON} ADD COLUMN IF NOT EXISTS x UInt8`,
      ],
      ["DROP TABLE IF EXISTS {database}.t", `DROP TABLE IF EXISTS {database}.t ${ON}`],
      [
        "CREATE TABLE IF NOT EXISTS {database}.s (k UInt8, n UInt64) ENGINE = SummingMergeTree((n)) ORDER BY k SETTINGS index_granularity = 1024, non_replicated_deduplication_window = 100",
        `CREATE TABLE IF NOT EXISTS {database}.s ${ON} (k UInt8, n UInt64) ENGINE = ReplicatedSummingMergeTree('${REPLICA_PATH}', '${REPLICA_NAME}', (n)) ORDER BY k\nSETTINGS index_granularity = 1024`,
      ],
      [
        "CREATE TABLE IF NOT EXISTS {database}.m (x UInt8) ENGINE = MergeTree ORDER BY x",
        `CREATE TABLE IF NOT EXISTS {database}.m ${ON} (x UInt8) ENGINE = ReplicatedMergeTree('${REPLICA_PATH}', '${REPLICA_NAME}') ORDER BY x`,
      ],
      [
        "INSERT INTO {database}.t SELECT x FROM {database}.s",
        "INSERT INTO {database}.t SELECT x FROM {database}.s",
      ],
      [
        "RENAME TABLE {database}.t TO {database}.t_old, {database}.t_new TO {database}.t",
        `RENAME TABLE {database}.t TO {database}.t_old, {database}.t_new TO {database}.t ${ON}`,
      ],
      [
        "CREATE TABLE IF NOT EXISTS {database}.mem (x UInt8) ENGINE = Memory",
        `CREATE TABLE IF NOT EXISTS {database}.mem ${ON} (x UInt8) ENGINE = Memory`,
      ],
    ];
    for (const [input, expected] of cases) expect(renderForCluster(input, CLUSTER)).toBe(expected);
  });

  test("refuses what it cannot place ON CLUSTER, and a bad cluster name", () => {
    expect(() => renderForCluster("INSERT INTO {database}.t VALUES (1)", CLUSTER)).toThrow(
      /unknown statement shape/,
    );
    expect(() => renderForCluster("CREATE DATABASE IF NOT EXISTS {database}", "a'b")).toThrow(
      /invalid ClickHouse cluster name/,
    );
  });
});
