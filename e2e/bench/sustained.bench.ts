/**
 * `bun run bench:sustained`: an ad platform that never stops writing. The extractor, loader and
 * reporter run as processes on a fresh database, embedded ClickHouse and NATS namespace; a writer
 * commits every 100 ms a transaction of impressions interleaved over 1,000 campaigns (+1 % clicks),
 * with a bid change every 5 s and a few clicks deleted every 10 s, for BENCH_SECONDS at
 * BENCH_RATE impressions/s. It polls ClickHouse's impression rows and the KPI API (every 50 ms)
 * and prints, per commit, commit → ClickHouse and commit → KPI latency: p50/p95/p99/max, the p95
 * of every minute (so growing lag shows), each stage's mean from the services' own /metrics, and
 * CPU seconds per process. The baseline in the same run: one commit on the idle pipeline.
 * `--ramp` (or BENCH_RAMP=1) steps the rate up and reports the highest whose p95 stays <= 1 s.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startTestClickHouse, type TestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { connectNats, deleteStreams } from "@adpipe/shared/nats";
import { createPool, type Pool } from "@adpipe/shared/pg";
import { createTestDatabase, type TestDatabase, uniqueName, waitFor } from "@adpipe/shared/testing";
import { histogramMeans, peakRssMb, type Service, spawnService } from "./services.ts";

const { values } = parseArgs({
  options: {
    rate: { type: "string", default: process.env.BENCH_RATE ?? "5000" },
    seconds: { type: "string", default: process.env.BENCH_SECONDS ?? "60" },
    campaigns: { type: "string", default: process.env.BENCH_CAMPAIGNS ?? "1000" },
    ramp: { type: "boolean", default: process.env.BENCH_RAMP === "1" },
    "step-seconds": { type: "string", default: process.env.BENCH_STEP_SECONDS ?? "30" },
  },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const CAMPAIGNS = Number(values.campaigns);
const TICK_MS = 100;
const POLL_MS = 50;
/** Rebuilds sampled from /reports/status: version → milliseconds per statement. */
const statements = new Map<string, Record<string, number>>();

const pct = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);
const ms = (n: number) => (Number.isNaN(n) ? "—" : `${Math.round(n)} ms`);

interface Commit {
  at: number;
  /** Impressions inserted up to and including this commit. */
  total: number;
  ch?: number;
  kpi?: number;
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

interface World {
  db: TestDatabase;
  pool: Pool;
  chs: TestClickHouse;
  namespace: string;
  services: Service[];
  campaigns: number[];
  close(): Promise<void>;
}

async function startWorld(): Promise<World> {
  const db = await createTestDatabase();
  const pool = createPool({ connectionString: db.url, max: 4 });
  const chs = await startTestClickHouse();
  const namespace = uniqueName("sustained");
  const env = {
    DATABASE_URL: db.url,
    NATS_URL: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
    ...chs.env(),
    ADPIPE_NAMESPACE: namespace,
    ADPIPE_API_TOKEN: crypto.randomUUID(),
  };
  const services: Service[] = [];
  const close = async () => {
    for (const s of services.reverse()) await s.stop();
    const nc = await connectNats({ url: env.NATS_URL });
    await deleteStreams(await nc.jetstreamManager(), namespace).catch(() => {});
    await nc.drain();
    await pool.end();
    await chs.stop();
    await db.drop();
  };
  try {
    for (const name of ["extractor", "loader", "reporter"]) services.push(await spawnService(name, env));
    await pool.query(
      "INSERT INTO advertiser (name, created_at, updated_at) SELECT 'Advertiser ' || n, now(), now() FROM generate_series(1, 10) n",
    );
    const { rows } = await pool.query<{ id: number }>(
      `INSERT INTO campaign (name, bid, budget, start_date, end_date, advertiser_id, created_at, updated_at)
       SELECT 'Campaign ' || n, 1.00 + (n % 100) / 100.0, 100000, CURRENT_DATE - 3, CURRENT_DATE + 27,
              (SELECT min(id) FROM advertiser) + n % 10, now(), now()
       FROM generate_series(1, $1::int) n RETURNING id`,
      [CAMPAIGNS],
    );
    const campaigns = rows.map((r) => r.id);
    const reporter = services[2] as Service;
    await waitFor(
      async () => (await kpiImpressions(reporter)) === 0 && (await campaignsReported(reporter)) === CAMPAIGNS,
      {
        what: "campaigns reported",
        timeoutMs: 60_000,
      },
    );
    return { db, pool, chs, namespace, services, campaigns, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Impressions as the KPI API shows them: the sum over advertisers. */
async function kpiImpressions(reporter: Service): Promise<number> {
  const rows = (await (await fetch(`${reporter.url}/kpis/advertisers`)).json()) as { impressions: number }[];
  return rows.reduce((n, r) => n + Number(r.impressions), 0);
}
async function campaignsReported(reporter: Service): Promise<number> {
  const rows = (await (await fetch(`${reporter.url}/kpis/advertisers`)).json()) as { campaigns: number }[];
  return rows.reduce((n, r) => n + Number(r.campaigns ?? 0), 0);
}

/** Writes at `rate` for `seconds` while polling; returns every commit with the times it became visible. */
async function drive(w: World, rate: number, seconds: number, firstTotal: number): Promise<Commit[]> {
  const reporter = w.services[2] as Service;
  const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));
  const commits: Commit[] = [];
  let total = firstTotal;
  let writing = true;
  let cursor = 0;
  const started = performance.now();
  const writer = (async () => {
    let next = performance.now();
    let tick = 0;
    while (performance.now() - started < seconds * 1000) {
      // Interleaved: consecutive rows go to different campaigns, as an ad server's traffic does.
      const offset = (tick * perTick) % w.campaigns.length;
      await w.pool.query(
        `WITH ins AS (
           INSERT INTO impressions (campaign_id, created_at)
           SELECT ($1::bigint[])[1 + (($2::int + n) % $3::int)], now() FROM generate_series(0, $4::int - 1) n
           RETURNING campaign_id)
         INSERT INTO clicks (campaign_id, created_at)
         SELECT campaign_id, now() FROM ins WHERE random() < 0.01`,
        [w.campaigns, offset, w.campaigns.length, perTick],
      );
      total += perTick;
      commits.push({ at: performance.now(), total });
      tick++;
      if (tick % 50 === 0)
        await w.pool.query("UPDATE campaign SET bid = bid + 0.01 WHERE id = $1", [
          w.campaigns[tick % w.campaigns.length],
        ]);
      if (tick % 100 === 0)
        await w.pool.query("DELETE FROM clicks WHERE id IN (SELECT id FROM clicks ORDER BY id DESC LIMIT 3)");
      next += TICK_MS;
      await Bun.sleep(Math.max(0, next - performance.now()));
    }
    writing = false;
  })();
  // The reporter's last rebuild, sampled: where a rebuild's time goes, statement by statement.
  const sampler = setInterval(async () => {
    const status = (await (await fetch(`${reporter.url}/reports/status`)).json().catch(() => null)) as {
      last_rebuild?: { version: string; statementsMs: Record<string, number> };
    } | null;
    const last = status?.last_rebuild;
    if (last && !statements.has(last.version)) statements.set(last.version, last.statementsMs);
  }, 500);
  const mark = (field: "ch" | "kpi", seen: number, now: number) => {
    for (const c of commits) if (c[field] === undefined && c.total <= seen) c[field] = now - c.at;
  };
  const deadline = () => performance.now() - started > (seconds + 120) * 1000;
  while (writing || commits.some((c) => c.kpi === undefined || c.ch === undefined)) {
    const [raw, kpi] = await Promise.all([
      w.chs.client
        .query({ query: "SELECT count() AS n FROM impressions", format: "JSONEachRow" })
        .then(async (rs) => Number(((await rs.json()) as { n: string }[])[0]?.n)),
      kpiImpressions(reporter),
    ]);
    const now = performance.now();
    mark("ch", raw, now);
    mark("kpi", kpi, now);
    // Only the tail can still be unseen: keep the scan short.
    while (cursor < commits.length && commits[cursor]?.kpi !== undefined && commits[cursor]?.ch !== undefined)
      cursor++;
    if (!writing && deadline()) throw new Error("the reports never caught up");
    await Bun.sleep(POLL_MS);
  }
  await writer;
  clearInterval(sampler);
  return commits.map((c) => ({ ...c, at: c.at - started }));
}

function summarise(label: string, commits: Commit[]) {
  const of = (f: "ch" | "kpi") => commits.map((c) => c[f] as number).sort((a, b) => a - b);
  const ch = of("ch");
  const kpi = of("kpi");
  console.log(
    `${label}: commit → ClickHouse p50 ${ms(pct(ch, 50))}, p95 ${ms(pct(ch, 95))}, p99 ${ms(pct(ch, 99))}, max ${ms(ch.at(-1) ?? Number.NaN)}`,
  );
  console.log(
    `${label}: commit → KPI        p50 ${ms(pct(kpi, 50))}, p95 ${ms(pct(kpi, 95))}, p99 ${ms(pct(kpi, 99))}, max ${ms(kpi.at(-1) ?? Number.NaN)} (${commits.length} commits)`,
  );
  const minutes = Math.ceil((commits.at(-1)?.at ?? 0) / 60_000);
  const perMinute: string[] = [];
  for (let m = 0; m < minutes; m++) {
    const inMinute = commits.filter((c) => c.at >= m * 60_000 && c.at < (m + 1) * 60_000);
    const k = inMinute.map((c) => c.kpi as number).sort((a, b) => a - b);
    const h = inMinute.map((c) => c.ch as number).sort((a, b) => a - b);
    perMinute.push(`min ${m + 1}: ${ms(pct(h, 95))} / ${ms(pct(k, 95))}`);
  }
  if (minutes > 1) console.log(`${label}: p95 per minute (ClickHouse / KPI): ${perMinute.join(", ")}`);
  return { chP95: pct(ch, 95), kpiP50: pct(kpi, 50), kpiP95: pct(kpi, 95), kpiP99: pct(kpi, 99) };
}

async function stageReport(w: World, cpuBefore: Map<string, number>, seconds: number) {
  const [extractor, loader, reporter] = w.services as [Service, Service, Service];
  const means = {
    "extractor cycle": await histogramMeans(extractor.url, "adpipe_extractor_cycle_duration_seconds"),
    "loader lag (published → inserted)": await histogramMeans(loader.url, "adpipe_loader_lag_seconds"),
    "loader insert": await histogramMeans(loader.url, "adpipe_loader_insert_duration_seconds"),
    "reporter rebuild": await histogramMeans(reporter.url, "adpipe_reporter_rebuild_duration_seconds"),
  };
  console.log(
    `stages (services' own /metrics): ${Object.entries(means)
      .map(([k, v]) => `${k} ${v}`)
      .join("; ")}`,
  );
  const cpu = processes(w).map(
    ({ name, pid }) => `${name} ${(cpuSeconds(pid) - (cpuBefore.get(name) ?? 0)).toFixed(1)} s`,
  );
  console.log(`CPU seconds over ${seconds} s: ${cpu.join(", ")}`);
  const sums = new Map<string, number>();
  for (const s of statements.values())
    for (const [k, v] of Object.entries(s)) sums.set(k, (sums.get(k) ?? 0) + v);
  const n = statements.size;
  console.log(
    `reporter statements, mean of ${n} sampled rebuilds: ${[...sums].map(([k, v]) => `${k} ${(v / n).toFixed(0)} ms`).join(", ")}`,
  );
  const parts = (await (
    await w.chs.client.query({
      query: `SELECT table, count() AS n FROM system.parts WHERE active AND database = currentDatabase()
              GROUP BY table HAVING n > 1 ORDER BY n DESC LIMIT 8`,
      format: "JSONEachRow",
    })
  ).json()) as { table: string; n: string }[];
  console.log(`active parts at the end: ${parts.map((p) => `${p.table} ${p.n}`).join(", ")}`);
  console.log(`loader peak RSS ${(await peakRssMb(loader.pid)).toFixed(0)} MB (target <= 256 MB)`);
}

const processes = (w: World) => [
  ...w.services.map((s) => ({ name: s.name, pid: s.pid })),
  { name: "clickhouse", pid: w.chs.server.pid },
];

const w = await startWorld();
try {
  // Baseline: one commit of the same size on the idle pipeline.
  const single = await drive(w, RATE, 0.1, 0);
  const base = summarise("baseline, one commit on an idle pipeline", single);
  let total = single.at(-1)?.total ?? 0;
  if (values.ramp) {
    const steps = [1000, 2000, 5000, 10000, 20000, 40000];
    let best = 0;
    for (const rate of steps) {
      const commits = await drive(w, rate, Number(values["step-seconds"]), total);
      total = commits.at(-1)?.total ?? total;
      const r = summarise(`ramp ${rate.toLocaleString("en-US")} impressions/s`, commits);
      if (r.kpiP95 <= 1000) best = rate;
      else break;
    }
    console.log(
      `ramp: highest rate with commit → KPI p95 <= 1 s: ${best ? `${best.toLocaleString("en-US")} impressions/s` : "none of the steps"}`,
    );
  } else {
    const cpuBefore = new Map(processes(w).map((p) => [p.name, cpuSeconds(p.pid)]));
    const commits = await drive(w, RATE, SECONDS, total);
    console.log(
      `sustained: ${RATE.toLocaleString("en-US")} impressions/s (+1 % clicks) for ${SECONDS} s, one commit every ${TICK_MS} ms over ${CAMPAIGNS.toLocaleString("en-US")} campaigns`,
    );
    const r = summarise("sustained", commits);
    await stageReport(w, cpuBefore, SECONDS);
    console.log(
      `ratio sustained / baseline: commit → KPI p95 ${(r.kpiP95 / base.kpiP95).toFixed(2)}x (targets: KPI p95 <= 1000 ms, p99 <= 2000 ms, ClickHouse p95 <= 500 ms)`,
    );
  }
} finally {
  await w.close();
}
