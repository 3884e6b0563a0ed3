/**
 * `bun run bench:kpi`: the reporter against 10 million impressions and 1 million clicks in the
 * embedded ClickHouse (generated inside ClickHouse with INSERT ... SELECT FROM numbers(), laid
 * out as the generator writes them: batches of 1,000 rows per campaign with growing ids and
 * _xid, created_at growing with the id over 8 days, 1,000 campaigns of 100 advertisers).
 * Prints: the full rebuild; KPI endpoint latency p50/p95 over HTTP; the rebuild after a 1,000-row
 * delta (a new _xid) at 1 million and at 10 million rows of history, and its ratio to the full one;
 * EXPLAIN of the delta's key lookup (granules read against the table's).
 */
import { startTestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { createLogger } from "@adpipe/shared/logger";
import { connectNats, deleteStreams, ensureStreams } from "@adpipe/shared/nats";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
import { uniqueName } from "@adpipe/shared/testing";
import { createApp } from "../src/app.ts";
import { createKpis } from "../src/kpis.ts";
import { createRebuilder } from "../src/rebuild.ts";
import { createReporter } from "../src/reporter.ts";
import { loadQueries } from "../src/sql.ts";
import { planEvents } from "../src/touched.ts";
import { createVersionClock } from "../src/version-clock.ts";

const IMPRESSIONS = Number(process.env.BENCH_IMPRESSIONS ?? 10_000_000);
const CLICKS = IMPRESSIONS / 10;
const CAMPAIGNS = 1000;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const ms = (v: number) => `${v.toFixed(1)} ms`;

const chs = await startTestClickHouse();
const ch = chs.client;
const nc = await connectNats({ url: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
const jsm = await nc.jetstreamManager();
const namespace = uniqueName("benchkpi");
const logger = createLogger("bench", "warn");
const queries = loadQueries();
const base0 = "http://127.0.0.1:9";
const rebuilder = createRebuilder(ch, queries);
const clock = createVersionClock(1n);
const today = new Date().toISOString().slice(0, 10);

/** Impressions (or clicks) [from, to) of the generated history; batch b is transaction 1000 + b. */
async function generate(table: "impressions" | "clicks", from: number, to: number, perBatch: number) {
  await ch.command({
    query: `INSERT INTO ${table} (id, campaign_id, created_at, _version, _xid)
      SELECT number + 1, toInt32(1 + intDiv(number, ${perBatch}) % ${CAMPAIGNS}),
             now64(6, 'UTC') - toIntervalSecond(691200) + toIntervalMillisecond(intDiv(number * 691200000, ${table === "impressions" ? IMPRESSIONS : CLICKS})),
             number + 1, 1000 + intDiv(number, ${perBatch})
      FROM numbers(${from}, ${to - from})`,
  });
}

let nextId = 50_000_000;
let nextXid = 10_000_000n;
/** A 1,000-row delta: new impressions for 5 campaigns today, under one new transaction id. */
async function deltaRebuild() {
  const xid = nextXid++;
  await ch.command({
    query: `INSERT INTO impressions (id, campaign_id, created_at, _version, _xid)
      SELECT ${nextId} + number, toInt32(1 + number % 5), now64(6, 'UTC'), ${nextId} + number, ${xid} FROM numbers(1000)`,
  });
  nextId += 1000;
  const t = performance.now();
  const plan = planEvents([
    {
      table: "impressions",
      batchIds: ["bench"],
      kinds: ["upsert"],
      rows: 1000,
      watermark: String(xid + 1n),
      windows: [{ from: String(xid), to: String(xid + 1n) }],
      loadedAt: "",
    },
  ]);
  const touched = await rebuilder.findTouched(plan);
  const findMs = performance.now() - t;
  const timings: Record<string, number> = {};
  await rebuilder.write(touched, clock.next(), today, timings);
  return { ms: performance.now() - t, keys: touched.campaigns.size + touched.days.size, findMs, timings };
}

function percentile(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
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

  // History of 1 million first: the delta's rebuild time there is the baseline.
  let t = performance.now();
  await generate("impressions", 0, IMPRESSIONS / 10, 1000);
  await generate("clicks", 0, CLICKS / 10, 100);
  const full0 = performance.now();
  await rebuilder.write(
    { full: true, allCampaigns: false, campaigns: new Set(), allDayCampaigns: new Set(), days: new Set() },
    clock.next(),
    today,
  );
  const fullSmall = performance.now() - full0;
  const smallDelta = [await deltaRebuild(), await deltaRebuild(), await deltaRebuild()];

  await generate("impressions", IMPRESSIONS / 10, IMPRESSIONS, 1000);
  await generate("clicks", CLICKS / 10, CLICKS, 100);
  console.log(
    `generated ${IMPRESSIONS.toLocaleString("en-US")} impressions, ${CLICKS.toLocaleString("en-US")} clicks, ${CAMPAIGNS} campaigns in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );

  const reporter = createReporter({
    js: nc.jetstream(),
    jsm,
    clickhouse: ch,
    config: {
      ADPIPE_NAMESPACE: namespace,
      REPORTER_COALESCE_MS: 150,
      REPORTER_MAX_BACKOFF_MS: 1000,
      REPORTER_MAX_TOUCHED_KEYS: 2000,
      REPORTER_DATE_CHECK_MS: 60_000,
    },
    logger,
    queries,
  });
  t = performance.now();
  const full = await reporter.rebuildAll();
  const fullMs = performance.now() - t;
  console.log(
    `full rebuild (5 tables, ${CAMPAIGNS} campaigns): ${ms(fullMs)}  (at 1/10 of the history: ${ms(fullSmall)})`,
  );

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
      `${label.padEnd(30)} p50 ${ms(percentile(times, 50)).padStart(9)}  p95 ${ms(percentile(times, 95)).padStart(9)}  (${REQUESTS} requests)`,
    );
  }
  server.stop(true);

  const bigDelta = [await deltaRebuild(), await deltaRebuild(), await deltaRebuild()];
  const median = (xs: { ms: number }[]) => xs.map((x) => x.ms).sort((a, b) => a - b)[1] as number;
  const small = median(smallDelta);
  const big = median(bigDelta);
  console.log(
    `rebuild after a 1,000-row delta (${bigDelta[0]?.keys} keys), median of 3: ${ms(small)} at ${(IMPRESSIONS / 10).toLocaleString("en-US")} rows of history, ${ms(big)} at ${IMPRESSIONS.toLocaleString("en-US")}`,
  );
  const mid = bigDelta[1];
  console.log(`  its statements (ms): find keys ${mid?.findMs.toFixed(1)}, ${JSON.stringify(mid?.timings)}`);
  console.log(
    `full rebuild / incremental rebuild at ${IMPRESSIONS.toLocaleString("en-US")}: ${(fullMs / big).toFixed(1)}x (full ${ms(full.durationMs)})`,
  );

  const xid = nextXid - 1n;
  const explain = await ch.query({
    query: `EXPLAIN indexes = 1 SELECT id FROM impressions WHERE _xid >= ${xid} AND _xid < ${xid + 1n}`,
    format: "TabSeparatedRaw",
  });
  const text = await explain.text();
  const granules = [...text.matchAll(/Granules: (\d+)\/(\d+)/g)].map((m) => `${m[1]}/${m[2]}`);
  console.log(
    `delta key lookup by _xid: granules after each index step (primary key, xid_idx): ${granules.join(" → ")}`,
  );
} finally {
  await deleteStreams(jsm, namespace).catch(() => {});
  await nc.drain().catch(() => {});
  await chs.stop();
}
