/**
 * Runs ClickHouse's official JavaScript client's integration suite (Node and common tests) against
 * the embedded server, and prints the totals and every failure:
 *
 *   bun run compat:clickhouse <clickhouse-js checkout, its dependencies installed (npm ci)>
 *
 * The suite connects to http://127.0.0.1:8123 as `default` without a password, so the server runs
 * there with --insecure (a development server on loopback, in a temporary folder, for the run
 * only). Its code stays in its own checkout: nothing of it is copied into adpipe.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnEmbeddedClickHouse } from "@adpipe/clickhouse-embedded/spawn";

interface VitestJson {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { name: string; assertionResults: { fullName: string; status: string }[] }[];
}

const checkout = process.argv[2] ? resolve(process.argv[2]) : "";
const nodePackage = join(checkout, "packages", "client-node");
if (!checkout || !existsSync(join(nodePackage, "vitest.config.ts"))) {
  console.error("usage: bun run compat:clickhouse <path to a clickhouse-js checkout with npm ci done>");
  process.exit(2);
}
const commit = Bun.spawnSync(["git", "-C", checkout, "rev-parse", "--short", "HEAD"])
  .stdout.toString()
  .trim();

const work = mkdtempSync(join(tmpdir(), "adpipe-compat-"));
const server = await spawnEmbeddedClickHouse({ dataDir: join(work, "data"), port: 8123, insecure: true });
try {
  const report = join(work, "vitest.json");
  const run = Bun.spawn(["npx", "vitest", "run", "--reporter=json", `--outputFile=${report}`], {
    cwd: nodePackage,
    env: { ...process.env, TEST_MODE: "integration" },
    stdout: "ignore",
    stderr: "ignore",
  });
  await run.exited;
  if (!existsSync(report)) throw new Error(`vitest wrote no report (exit ${run.exitCode})`);
  const result = JSON.parse(readFileSync(report, "utf8")) as VitestJson;
  for (const file of result.testResults)
    for (const t of file.assertionResults)
      if (t.status === "failed") console.log(`FAIL ${file.name.replace(`${checkout}/`, "")} > ${t.fullName}`);
  const notRun = result.numPendingTests + result.numTodoTests;
  console.log(
    `clickhouse-js ${commit || "(no git)"}: ${result.numPassedTests} passed, ${result.numFailedTests} failed, ${notRun} not run, of ${result.numTotalTests}`,
  );
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
