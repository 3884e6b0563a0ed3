// Runs faults against one stack under a continuous writer and measures, after each, how long the
// pipeline took to be exact again (or what it lost, duplicated or got wrong if it never was).
import { TABLES } from "@adpipe/shared/contract";
import { createPool } from "@adpipe/shared/pg";
import { type Exactness, formatTimings, waitForExact } from "./exactness.ts";
import { FAULTS, type Fault } from "./faults.ts";
import { type Stack, startStack } from "./stack.ts";
import { rng, seed, startWriter } from "./writer.ts";

export interface RunResult {
  fault: string;
  /** Milliseconds from the fault's end until exact; null when not exact within its deadline. */
  exactAfterMs: number | null;
  /** When not exact within the deadline: when it was exact after all (null: not within 2 more minutes). */
  lateExactMs: number | null;
  /**
   * How long the comparison that found it exact took: `exactAfterMs` is when that comparison
   * ended, so the pipeline was exact somewhere in the last `checkMs` of it. A comparison that began
   * before the deadline and found it exact counts as exact in time.
   */
  checkMs: number | null;
  writes: number;
  lost: number;
  extra: number;
  wrong: number;
  kpisWrong: number;
  sample: string[];
  /** Milliseconds each part of the last comparison took (per table, KPIs, total). */
  timings: Record<string, number>;
}

export interface SuiteOptions {
  runs: number;
  short: boolean;
  only?: string[];
  seed?: number;
  /** Keep the stack's folder (service logs, data) after the run. */
  keep?: boolean;
  log?: (line: string) => void;
  /**
   * The command line's: on SIGINT or SIGTERM stop everything the suite started (PostgreSQL,
   * nats-server, ClickHouse, the services) and exit with 130, instead of leaving them running.
   */
  exitOnSignal?: boolean;
}

const totals = (e: Exactness | null) => ({
  lost: e ? TABLES.reduce((n, t) => n + e.tables[t].lost, 0) : -1,
  extra: e ? TABLES.reduce((n, t) => n + e.tables[t].extra, 0) : -1,
  wrong: e ? TABLES.reduce((n, t) => n + e.tables[t].wrong, 0) : -1,
  kpisWrong: e?.kpisWrong ?? -1,
});

/**
 * One stack, seeded and exact, on which faults run one after the other; each run is measured.
 * A run that never got exact is followed by a wait for exactness, so the next run starts clean.
 */
export async function openSuite(o: {
  short: boolean;
  seed?: number;
  keep?: boolean;
  log?: (line: string) => void;
}) {
  const log = o.log ?? (() => {});
  const random = rng(o.seed ?? 29);
  log(
    "starting the stack (embedded PostgreSQL, nats-server, embedded ClickHouse, extractor, loader, reporter)",
  );
  const stack = await startStack();
  const url = new URL(stack.postgresUrl);
  url.searchParams.set("application_name", "faults-writer");
  const writerPool = createPool({ connectionString: url.toString(), max: 2 });
  const close = async () => {
    await writerPool.end().catch(() => {});
    await stack.close({ keep: o.keep });
    if (o.keep) log(`state and service logs kept in ${stack.dir}`);
  };
  let campaigns: number[];
  try {
    campaigns = await seed(stack.pool);
    const ready = await waitForExact(stack, 120_000);
    if (ready.ms === null)
      throw new Error(
        `the stack was not exact after seeding: ${ready.last?.sample.join("; ") || ready.error || "no comparison"}`,
      );
  } catch (err) {
    await close();
    throw err;
  }
  return {
    stack,
    async run(fault: Fault): Promise<RunResult> {
      const r = await runOnce(stack, writerPool, campaigns, fault, { short: o.short, random, log });
      log(
        `${fault.name}: ${r.exactAfterMs === null ? `NOT exact within ${fault.deadlineMs / 1000} s (lost ${r.lost}, extra ${r.extra}, wrong ${r.wrong}, KPIs wrong ${r.kpisWrong}; ${r.sample.join("; ")}); ${r.lateExactMs === null ? "still not exact 2 minutes later" : `exact ${(r.lateExactMs / 1000).toFixed(1)} s after the fault ended`}` : `exact ${(r.exactAfterMs / 1000).toFixed(1)} s after the fault ended (the comparison that saw it took ${((r.checkMs ?? 0) / 1000).toFixed(1)} s)`} (${r.writes} writes; comparison: ${formatTimings(r.timings)})`,
      );
      if (r.exactAfterMs === null && r.lateExactMs === null)
        throw new Error(`the pipeline stayed wrong after ${fault.name} (2 minutes past its deadline)`);
      return r;
    },
    close,
  };
}

/** Every fault (or those named), `runs` times each, on one stack. */
export async function runFaults(o: SuiteOptions): Promise<RunResult[]> {
  const unknown = o.only?.filter((n) => !FAULTS.some((f) => f.name === n)) ?? [];
  if (unknown.length > 0)
    throw new Error(`unknown fault ${unknown.join(", ")}; known: ${FAULTS.map((f) => f.name).join(", ")}`);
  const faults = o.only ? FAULTS.filter((f) => o.only?.includes(f.name)) : FAULTS;
  const suite = await openSuite(o);
  const results: RunResult[] = [];
  const signals = ["SIGINT", "SIGTERM"] as const;
  const onSignal = () => {
    o.log?.("stopping: closing the stack");
    suite.close().finally(() => process.exit(130));
  };
  if (o.exitOnSignal) for (const sig of signals) process.once(sig, onSignal);
  try {
    for (const fault of faults) for (let run = 1; run <= o.runs; run++) results.push(await suite.run(fault));
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
    await suite.close();
  }
  return results;
}

async function runOnce(
  stack: Stack,
  writerPool: ReturnType<typeof createPool>,
  campaigns: number[],
  fault: Fault,
  o: { short: boolean; random: () => number; log: (line: string) => void },
): Promise<RunResult> {
  const writer = startWriter(writerPool, campaigns, { seed: Math.floor(o.random() * 1e9) });
  await Bun.sleep(o.short ? 1500 : 5000);
  await fault.inject({ stack, admin: stack.pool, short: o.short, random: o.random, log: o.log });
  const stats = await writer.stop();
  const ended = Date.now();
  const { ms, last, checkMs } = await waitForExact(stack, fault.deadlineMs);
  // Damage is what the deadline saw; how late it healed, if it did, is measured on.
  const late = ms === null ? await waitForExact(stack, 120_000) : null;
  return {
    fault: fault.name,
    exactAfterMs: ms,
    lateExactMs: late?.ms == null ? null : Date.now() - ended,
    checkMs: ms === null ? null : (checkMs ?? null),
    writes: stats.transactions,
    ...(ms === null ? totals(last) : { lost: 0, extra: 0, wrong: 0, kpisWrong: 0 }),
    sample: ms === null ? (last?.sample ?? []) : [],
    timings: last?.timings ?? {},
  };
}

/** The table of issue #29: per fault, runs, exact again by itself, seconds to exact, damage. */
export function formatTable(results: RunResult[]): string {
  const lines = [
    "| fault | runs | exact again by itself within the deadline | of them, with the comparison ended by the deadline | seconds to exact | slowest comparison (s) | late runs: exact after (s) | rows lost | extra | wrong | KPIs wrong |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const f of FAULTS) {
    const rs = results.filter((r) => r.fault === f.name);
    if (rs.length === 0) continue;
    const exact = rs.filter((r) => r.exactAfterMs !== null);
    const ended = exact.filter((r) => (r.exactAfterMs as number) <= f.deadlineMs);
    const secs = exact.map((r) => (r.exactAfterMs as number) / 1000);
    const checks = exact.map((r) => (r.checkMs ?? 0) / 1000);
    const worst = (k: "lost" | "extra" | "wrong" | "kpisWrong") => Math.max(0, ...rs.map((r) => r[k]));
    const late = rs
      .filter((r) => r.exactAfterMs === null)
      .map((r) => (r.lateExactMs === null ? "never" : (r.lateExactMs / 1000).toFixed(1)));
    lines.push(
      `| ${f.title} | ${rs.length} | ${exact.length} / ${rs.length} | ${ended.length} / ${rs.length} | ${secs.length ? `${Math.min(...secs).toFixed(1)}–${Math.max(...secs).toFixed(1)}` : "—"} | ${checks.length ? Math.max(...checks).toFixed(1) : "—"} | ${late.join(", ") || "—"} | ${worst("lost")} | ${worst("extra")} | ${worst("wrong")} | ${worst("kpisWrong")} |`,
    );
  }
  return lines.join("\n");
}
