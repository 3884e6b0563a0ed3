/**
 * `bun run bench:kpi`: the reporter's rebuild cost against the length of the history, on traffic
 * shaped like an ad platform's: impressions and clicks interleaved across 1,000 campaigns
 * (campaign = id mod 1,000, as requests arrive), ids and created_at growing together over the last
 * 8 days up to now (so today holds the share of the day gone so far), one transaction per 1,000
 * rows, 100 advertisers. The history is generated inside the embedded ClickHouse (INSERT ...
 * SELECT FROM numbers()) at each size in turn (default 1 million, then 100 million impressions;
 * clicks are a tenth), the reports fully rebuilt, then it times the keyed rebuild (find the
 * touched id buckets or (bucket, campaign) pairs, recount them, write the five reports) after:
 * - a 1,000-row delta of new impressions (today, every campaign);
 * - 1,000 deletes of the last hour's impressions (at least the last 20,000; invalid traffic
 *   removed), each tombstone naming the campaign and time it removes, as the extractor sends it;
 * - 1,000 moves of the last hour's impressions to another campaign (a tombstone plus the new
 *   version, as the extractor delivers them);
 * - 1,000 deletes spread over the whole history (the worst case: a bucket each, recounted as
 *   (bucket, campaign) pairs).
 * Each is the median of BENCH_RUNS (default 5; a background merge can double one run). Prints
 * each size's figures, the largest / smallest ratio, KPI endpoint latency at the largest size, and
 * EXPLAIN of one bucket recount (granules read against the table's).
 * BENCH_SIZES (comma-separated impression counts) changes the sizes.
 */
import { startTestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { createClickHouse } from "@adpipe/shared/clickhouse";
import { createLogger } from "@adpipe/shared/logger";
import type { LoadedEvent } from "@adpipe/shared/messages/loaded";
import { connectNats, deleteStreams, ensureStreams } from "@adpipe/shared/nats";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
import { BUCKET_TABLES, REPORT_TABLES } from "@adpipe/shared/olap-roles";
import { uniqueName } from "@adpipe/shared/testing";
import { createApp } from "../src/app.ts";
import { createKpis } from "../src/kpis.ts";
import { createRebuilder } from "../src/rebuild.ts";
import { createReporter } from "../src/reporter.ts";
import { loadQueries } from "../src/sql.ts";
import { BUCKET_IDS, dayKeys, emptyTouched, planEvents } from "../src/touched.ts";
import { createVersionClock } from "../src/version-clock.ts";

const SIZES = (process.env.BENCH_SIZES ?? "1000000,100000000").split(",").map(Number);
const CAMPAIGNS = 1000;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const SPAN_S = 8 * 86_400;
const ms = (v: number) => `${v.toFixed(1)} ms`;
const count = (n: number) => n.toLocaleString("en-US");

const chs = await startTestClickHouse();
const ch = chs.client;
const nc = await connectNats({ url: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
const jsm = await nc.jetstreamManager();
const namespace = uniqueName("benchkpi");
const logger = createLogger("bench", "warn");
const queries = loadQueries();
const rebuilder = createRebuilder(ch, queries);
const clock = createVersionClock(1n);
const today = new Date().toISOString().slice(0, 10);

async function one<T>(query: string): Promise<T> {
  const rs = await ch.query({ query, format: "JSONEachRow" });
  return ((await rs.json()) as T[])[0] as T;
}

// Generating and merging the history: statements that can outlast the client's 30 s default.
const slow = createClickHouse({
  url: chs.url,
  user: chs.user,
  password: chs.password,
  database: chs.database,
  requestTimeoutMs: 600_000,
});

/** Facts 1..n of one table, interleaved over the campaigns, created over the 8 days up to `end`. */
async function generate(table: "impressions" | "clicks", n: number, end: number) {
  // One INSERT per 10 million rows keeps the engine's memory bounded.
  for (let from = 0; from < n; from += 10_000_000) {
    const rows = Math.min(10_000_000, n - from);
    await slow.command({
      query: `INSERT INTO ${table} (id, campaign_id, created_at, _version, _xid)
        SELECT number + 1, toInt32(1 + number % ${CAMPAIGNS}),
               toDateTime64(${end / 1000}, 6, 'UTC') - toIntervalMillisecond(intDiv((${n} - number) * ${SPAN_S * 1000}, ${n})),
               number + 1, 1000 + intDiv(number, 1000)
        FROM numbers(${from}, ${rows})`,
    });
  }
}

let nextVersion = 10_000_000_000;
let nextXid = 100_000_000n;

/** Writes one transaction's rows into ClickHouse as the loader would, then times the keyed rebuild. */
async function timedDelta(insert: (xid: bigint, version: number) => string, kinds: LoadedEvent["kinds"]) {
  const xid = nextXid++;
  await ch.command({ query: insert(xid, nextVersion) });
  // Room for the versions of one delta (a move takes two per id of the last hour's range).
  nextVersion += 10_000_000;
  const t = performance.now();
  const touched = await rebuilder.findTouched(
    planEvents([
      {
        table: "impressions",
        batchIds: ["bench"],
        kinds,
        rows: 1000,
        watermark: String(xid + 1n),
        windows: [{ from: String(xid), to: String(xid + 1n) }],
        loadedAt: "",
      },
    ]),
  );
  const timings: Record<string, number> = {};
  await rebuilder.write(touched, clock.next(), today, timings);
  return {
    ms: performance.now() - t,
    buckets: touched.buckets.impressions.size,
    days: dayKeys(touched).size,
    full: touched.full,
    timings,
  };
}

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const median = async (run: () => Promise<Awaited<ReturnType<typeof timedDelta>>>) => {
  const runs: Awaited<ReturnType<typeof timedDelta>>[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await run());
  runs.sort((a, b) => a.ms - b.ms);
  return runs[Math.floor(RUNS / 2)] as Awaited<ReturnType<typeof timedDelta>>;
};

interface SizeResult {
  n: number;
  fullMs: number;
  inserts: Awaited<ReturnType<typeof timedDelta>>;
  recentDeletes: Awaited<ReturnType<typeof timedDelta>>;
  moves: Awaited<ReturnType<typeof timedDelta>>;
  spreadDeletes: Awaited<ReturnType<typeof timedDelta>>;
}

async function measure(n: number): Promise<SizeResult> {
  for (const table of ["impressions", "clicks", ...BUCKET_TABLES, ...REPORT_TABLES]) {
    await ch.command({ query: `TRUNCATE TABLE ${table}` });
  }
  const end = Date.now();
  let t = performance.now();
  await generate("impressions", n, end);
  await generate("clicks", n / 10, end);
  await slow.command({ query: "OPTIMIZE TABLE impressions FINAL" });
  console.log(
    `${count(n)} impressions and ${count(n / 10)} clicks generated in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  t = performance.now();
  await rebuilder.write({ ...emptyTouched(), full: true }, clock.next(), today);
  const fullMs = performance.now() - t;

  // The last hour's ids: created_at grows with the id, so they are the top n / 192; at least
  // 20,000, so that the deletes and moves below (5 runs of 1,000 each) find live ones at 1 million.
  const hour = Math.max(20_000, Math.floor(n / 192));
  let nextId = n + 1;
  const inserts = await median(() =>
    timedDelta(
      (xid, v) => {
        const first = nextId;
        nextId += 1000;
        return `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid)
        SELECT ${first} + number, toInt32(1 + (${first} + number) % ${CAMPAIGNS}), now64(6, 'UTC'), ${v} + number, ${xid}
        FROM numbers(1000)`;
      },
      ["upsert"],
    ),
  );
  let salt = 0;
  // 1,000 distinct live ids of the recent range, in random order, different for every call.
  const pickRecent = () =>
    `SELECT id FROM impressions_current WHERE id >= ${n - hour} AND id <= ${n} ORDER BY cityHash64(id, ${++salt}) LIMIT 1000`;
  // Up to 1,000 distinct ids of the whole history (the few already deleted are skipped below).
  const pickSpread = () =>
    `SELECT toInt32(1 + (cityHash64(number, ${++salt}) % ${n})) AS id FROM numbers(5000) GROUP BY id LIMIT 1000`;
  // A tombstone names the campaign and time of the version it removes, as the extractor sends it
  // (PostgreSQL migration 0008).
  const tombstones = (pick: () => string) => (xid: bigint, v: number) =>
    `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid, _deleted)
      SELECT id, campaign_id, created_at, ${v} + rowNumberInAllBlocks(), ${xid}, 1
      FROM impressions_current WHERE id IN (${pick()})`;
  const recentDeletes = await median(() => timedDelta(tombstones(pickRecent), ["delete"]));
  const moves = await median(() =>
    timedDelta(
      // The tombstone names the old campaign and time; the new version is one above it.
      (xid, v) => {
        const lo = n - hour;
        const ids = pickRecent();
        return `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid, _deleted)
        SELECT id, campaign_id, created_at, ${v} + 2 * (id - ${lo}), ${xid}, 1
        FROM impressions_current WHERE id IN (${ids})
        UNION ALL
        SELECT id, toNullable(toInt32(1 + (id + 7) % ${CAMPAIGNS})), toNullable(now64(6, 'UTC') - toIntervalMinute(30)), ${v} + 2 * (id - ${lo}) + 1, ${xid}, 0
        FROM impressions_current WHERE id IN (${ids})`;
      },
      ["delete", "upsert"],
    ),
  );
  const spreadDeletes = await median(() => timedDelta(tombstones(pickSpread), ["delete"]));
  return { n, fullMs, inserts, recentDeletes, moves, spreadDeletes };
}

function printSize(r: SizeResult) {
  const line = (label: string, d: Awaited<ReturnType<typeof timedDelta>>) =>
    console.log(
      `  ${label.padEnd(38)} ${ms(d.ms).padStart(10)}  (${d.buckets} buckets, ${d.days} (campaign, day) keys${d.full ? ", FULL" : ""})  ${JSON.stringify(d.timings)}`,
    );
  console.log(
    `history of ${count(r.n)} impressions: full rebuild ${ms(r.fullMs)}; keyed rebuild, median of ${RUNS}, after`,
  );
  line("1,000 new impressions (today)", r.inserts);
  line("1,000 deletes of the last hour's rows", r.recentDeletes);
  line("1,000 moves of the last hour's rows", r.moves);
  line("1,000 deletes spread over the 8 days", r.spreadDeletes);
}

try {
  await migrateOlap(ch, chs.database);
  await ensureStreams(jsm, namespace);
  await ch.command({
    query: `INSERT INTO advertiser (id, name, _version, _xid) SELECT number + 1, concat('adv_', toString(number + 1)), 1, 1 FROM numbers(100)`,
  });
  await ch.command({
    query: `INSERT INTO campaign (id, name, bid, budget, start_date, end_date, advertiser_id, _version, _xid)
      SELECT number + 1, concat('Campaign_', toString(number + 1)), toDecimal32(0.5 + (number % 450) / 100, 2),
             toDecimal32(50 + (number * 7) % 450, 2), today() - 7 + number % 5, today() + 7 + number % 24,
             toInt32(1 + intDiv(number, 10)), 2, 2
      FROM numbers(${CAMPAIGNS})`,
  });
  console.log(
    `id buckets of ${count(BUCKET_IDS)} ids; ${CAMPAIGNS} campaigns interleaved; history over 8 days up to now`,
  );

  const results: SizeResult[] = [];
  for (const n of SIZES) {
    const r = await measure(n);
    results.push(r);
    printSize(r);
  }
  const first = results[0] as SizeResult;
  const last = results[results.length - 1] as SizeResult;
  if (results.length > 1) {
    const ratio = (k: keyof Omit<SizeResult, "n" | "fullMs">) => (last[k].ms / first[k].ms).toFixed(2);
    console.log(
      `ratio ${count(last.n)} / ${count(first.n)}: new rows ${ratio("inserts")}x, recent deletes ${ratio("recentDeletes")}x, moves ${ratio("moves")}x, spread deletes ${ratio("spreadDeletes")}x; full rebuild ${(last.fullMs / first.fullMs).toFixed(1)}x`,
    );
  }

  // KPI reads at the largest size.
  const reporter = createReporter({
    js: nc.jetstream(),
    jsm,
    clickhouse: ch,
    config: {
      ADPIPE_NAMESPACE: namespace,
      REPORTER_COALESCE_MS: 50,
      REPORTER_MAX_BACKOFF_MS: 1000,
      REPORTER_MAX_TOUCHED_KEYS: 2000,
      REPORTER_DATE_CHECK_MS: 60_000,
    },
    logger,
    queries,
  });
  const base0 = "http://127.0.0.1:9";
  const app = createApp({
    reporter,
    kpis: createKpis(ch, queries),
    nc,
    clickhouse: ch,
    logger,
    // The bench measures KPI reads only; the dashboard's other services are not running.
    dashboard: {
      namespace,
      queries,
      upstreams: { generator: base0, extractor: base0, loader: base0 },
      timeoutMs: 300,
    },
  });
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
  const base = `http://127.0.0.1:${server.port}`;
  const endpoints: [string, () => string][] = [
    ["/kpis/campaigns (1,000 rows)", () => "/kpis/campaigns"],
    ["/kpis/campaigns/:id", () => `/kpis/campaigns/${1 + Math.floor(Math.random() * CAMPAIGNS)}`],
    [
      "/kpis/daily?campaign_id=",
      () => `/kpis/daily?campaign_id=${1 + Math.floor(Math.random() * CAMPAIGNS)}`,
    ],
    ["/kpis/top?by=ctr&limit=10", () => "/kpis/top?by=ctr&limit=10"],
    ["/kpis/advertisers", () => "/kpis/advertisers"],
  ];
  const percentile = (sorted: number[], p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
  for (const [label, path] of endpoints) {
    for (let i = 0; i < 10; i++) await (await fetch(base + path())).arrayBuffer(); // warm-up
    const times: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const s = performance.now();
      const res = await fetch(base + path());
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${label}: ${res.status}`);
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    console.log(
      `${label.padEnd(30)} p50 ${ms(percentile(times, 50)).padStart(9)}  p95 ${ms(percentile(times, 95)).padStart(9)}  (${REQUESTS} requests at ${count(last.n)})`,
    );
  }
  server.stop(true);

  // What one bucket recount reads: the primary key (id) selects its granules.
  const bucket = Math.floor(last.n / BUCKET_IDS);
  const explain = await ch.query({
    query: `EXPLAIN indexes = 1 SELECT count() FROM impressions_current WHERE id >= ${(bucket - 1) * BUCKET_IDS} AND id < ${(bucket + 2) * BUCKET_IDS} AND intDiv(id, ${BUCKET_IDS}) IN (${bucket})`,
    format: "TabSeparatedRaw",
  });
  const granules = [...(await explain.text()).matchAll(/Granules: (\d+)\/(\d+)/g)].map(
    (m) => `${m[1]}/${m[2]}`,
  );
  const stored = await one<{ rows: string }>("SELECT count() AS rows FROM impressions_buckets FINAL");
  console.log(
    `one bucket recount reads granules (primary key): ${granules.join(" → ")}; impressions_buckets holds ${count(Number(stored.rows))} rows for ${count(last.n)} impressions`,
  );
} finally {
  await deleteStreams(jsm, namespace).catch(() => {});
  await nc.drain().catch(() => {});
  await slow.close();
  await chs.stop();
}
