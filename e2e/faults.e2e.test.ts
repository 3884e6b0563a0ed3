// The fault suite's short version (issue #29; `bun run test:faults --runs 5` is the long one):
// every fault once, under a continuous writer, on one stack of real processes; each must leave
// PostgreSQL, every `<table>_current` and the campaign KPIs equal again, by itself, within its
// deadline. Prints the table.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FAULTS } from "./faults/faults.ts";
import { formatTable, openSuite, type RunResult } from "./faults/suite.ts";

let suite: Awaited<ReturnType<typeof openSuite>>;
const results: RunResult[] = [];

beforeAll(async () => {
  suite = await openSuite({ short: true, log: (line) => console.log(`faults | ${line}`) });
}, 180_000);

afterAll(async () => {
  await suite?.close();
  if (results.length > 0) console.log(`\n${formatTable(results)}\n`);
});

describe("faults under a continuous writer", () => {
  for (const fault of FAULTS) {
    test(`${fault.name}: exact again by itself`, async () => {
      const r = await suite.run(fault);
      results.push(r);
      expect({ fault: r.fault, exact: r.exactAfterMs !== null, sample: r.sample }).toEqual({
        fault: fault.name,
        exact: true,
        sample: [],
      });
    }, 300_000);
  }
});
