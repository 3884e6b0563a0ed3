// `bun run test:faults [--runs N] [--only a,b] [--short] [--seed N] [--keep]`: the fault suite of issue
// #29 on its own stack, printing the table of runs, exactness and damage (docs/faults.md).
import { parseArgs } from "node:util";
import { FAULTS } from "./faults.ts";
import { formatTable, runFaults } from "./suite.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "1" },
    only: { type: "string" },
    short: { type: "boolean", default: false },
    seed: { type: "string" },
    list: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
  },
});
if (values.list) {
  for (const f of FAULTS) console.log(`${f.name.padEnd(32)} ${f.title}`);
  process.exit(0);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error("--runs: expected a whole number of runs, at least 1");
  process.exit(2);
}
const started = Date.now();
const results = await runFaults({
  runs,
  short: values.short,
  only: values.only?.split(",").map((s) => s.trim()),
  seed: values.seed === undefined ? undefined : Number(values.seed),
  keep: values.keep,
  exitOnSignal: true,
  log: (line) => console.log(`faults | ${line}`),
}).catch((err) => {
  console.error(`faults: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
console.log(`\n${formatTable(results)}\n`);
const failed = results.filter((r) => r.exactAfterMs === null).length;
console.log(
  `${results.length - failed} of ${results.length} runs exact again by themselves (${((Date.now() - started) / 60_000).toFixed(1)} min)`,
);
process.exit(failed === 0 ? 0 : 1);
