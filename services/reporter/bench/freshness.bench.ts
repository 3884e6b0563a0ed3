/**
 * `bun run bench:freshness`: all four services as processes (generator, extractor, loader,
 * reporter) on a fresh PostgreSQL database, embedded ClickHouse and NATS namespace. The bench asks
 * the generator's HTTP API for impressions at about BENCH_RATE rows/s (one request every 100 ms,
 * campaigns in turn); a row counts as committed when the generator's response arrives (its
 * transaction has committed), and as visible when `GET /kpis/campaigns` on the reporter shows the
 * campaign's cumulative count including it (polled every 25 ms). Prints p50/p95/p99 of
 * commit → KPI latency. Two runs at default settings: as they are, and the baseline with the
 * extractor on its timer only (EXTRACT_LISTEN=false); settings in the environment apply to both.
 */
import { join } from "node:path";
import { startTestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { connectNats, deleteStreams } from "@adpipe/shared/nats";
import { createTestDatabase, uniqueName, waitFor } from "@adpipe/shared/testing";

const RATE = Number(process.env.BENCH_RATE ?? 5000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CAMPAIGNS = 10;
const TICK_MS = 100;
const root = join(import.meta.dir, "..", "..", "..");

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;

/**
 * Mean of a Prometheus histogram on a service's /metrics, over all its labels, in ms. Read from
 * its `_sum` and `_count` lines here: the parser the API tests use (parse-prometheus-text-format,
 * shared/src/http/api-testing.ts) drops both for a histogram with labels (checked with 1.1.1).
 */
async function meanMs(url: string, name: string): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const total = (suffix: string) =>
    [...text.matchAll(new RegExp(`^${name}_${suffix}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
  const count = total("count");
  return count === 0 ? "none" : `${((total("sum") / count) * 1000).toFixed(0)} ms over ${count}`;
}

/** One run of all four services on a fresh database, ClickHouse and namespace; latency percentiles. */
async function measure(label: string, extraEnv: Record<string, string>) {
  const db = await createTestDatabase();
  const chs = await startTestClickHouse();
  const namespace = uniqueName("fresh");
  const token = crypto.randomUUID();
  const env = {
    ...process.env,
    DATABASE_URL: db.url,
    NATS_URL: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
    ...chs.env(),
    ADPIPE_NAMESPACE: namespace,
    PORT: "0",
    LOG_LEVEL: "info",
    ADPIPE_API_TOKEN: token,
    ...extraEnv,
  };

  type Service = { name: string; url: string; proc: ReturnType<typeof Bun.spawn> };
  async function spawn(name: string): Promise<Service> {
    const proc = Bun.spawn(["bun", "run", join(root, "services", name, "src", "index.ts")], {
      env,
      stdout: "pipe",
      stderr: "inherit",
    });
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
    let buffered = "";
    const decoder = new TextDecoder();
    while (true) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${name} exited before listening`);
      buffered += decoder.decode(value);
      // Services log their address as `url`, the extractor as `port`.
      const match =
        /"msg":"listening"[^\n]*"url":"([^"]+)"/.exec(buffered) ??
        /"msg":"extractor started"[^\n]*"port":(\d+)/.exec(buffered);
      if (match) {
        // Keep draining its log so the pipe never fills.
        (async () => {
          while (!(await reader.read()).done) {}
        })().catch(() => {});
        const found = match[1] as string;
        return { name, url: /^\d+$/.test(found) ? `http://127.0.0.1:${found}` : found, proc };
      }
    }
  }

  const services: Service[] = [];

  try {
    for (const name of ["generator", "extractor", "loader", "reporter"]) services.push(await spawn(name));
    const [generator, , loader, reporter] = services as [Service, Service, Service, Service];
    const post = async (path: string, body: unknown) => {
      const res = await fetch(generator.url + path, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status !== 201) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return res.json();
    };
    const batch = (await post("/generate/batch", {
      advertisers: 2,
      campaigns: CAMPAIGNS / 2,
      impressions: 100,
      ctr: 0.1,
    })) as {
      campaign_ids: number[];
    };
    const expected = new Map<number, number>(batch.campaign_ids.map((id) => [id, 100]));
    const counts = async () => {
      const rows = (await (await fetch(`${reporter.url}/kpis/campaigns`)).json()) as {
        campaign_id: number;
        impressions: number;
      }[];
      return new Map(rows.map((r) => [r.campaign_id, r.impressions]));
    };
    await waitFor(async () => (await counts()).size === CAMPAIGNS, {
      what: "seed reported",
      timeoutMs: 30_000,
    });

    const perTick = Math.round((RATE * TICK_MS) / 1000);
    const pending: { campaign: number; upTo: number; committedAt: number }[] = [];
    const latencies: number[] = [];
    let writing = true;
    let rows = 0;
    const started = performance.now();

    const writer = (async () => {
      let i = 0;
      let next = performance.now();
      while (performance.now() - started < SECONDS * 1000) {
        const campaign = batch.campaign_ids[i++ % CAMPAIGNS] as number;
        await post("/generate/impressions", { campaign_id: campaign, count: perTick });
        const upTo = (expected.get(campaign) ?? 0) + perTick;
        expected.set(campaign, upTo);
        pending.push({ campaign, upTo, committedAt: performance.now() });
        rows += perTick;
        next += TICK_MS;
        await Bun.sleep(Math.max(0, next - performance.now()));
      }
      writing = false;
    })();

    while (writing || pending.length > 0) {
      const seen = await counts();
      const now = performance.now();
      for (let k = pending.length - 1; k >= 0; k--) {
        const p = pending[k] as (typeof pending)[number];
        if ((seen.get(p.campaign) ?? 0) >= p.upTo) {
          latencies.push(now - p.committedAt);
          pending.splice(k, 1);
        }
      }
      if (!writing && performance.now() - started > (SECONDS + 60) * 1000)
        throw new Error("reports never caught up");
      await Bun.sleep(25);
    }
    await writer;
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const status = (await (await fetch(`${reporter.url}/reports/status`)).json()) as {
      counters: { rebuilds: number; events: number };
    };
    console.log(
      `wrote ${rows.toLocaleString("en-US")} impressions in ${SECONDS} s (${Math.round(rows / SECONDS).toLocaleString("en-US")} rows/s, ${perTick} per generator request every ${TICK_MS} ms, ${CAMPAIGNS} campaigns)`,
    );
    const settings =
      Object.entries(env)
        .filter(([k]) => /^(EXTRACT|LOADER|REPORTER)_/.test(k))
        .map(([k, v]) => `${k}=${v}`)
        .join(" ") || "defaults";
    console.log(
      `${label} (${settings}): reporter ${status.counters.rebuilds} rebuilds for ${status.counters.events} loaded events`,
    );
    // Where the latency goes: the two stages after the extractor, as the services measure them.
    console.log(
      `${label}: mean loader lag (published → inserted) ${await meanMs(loader.url, "adpipe_loader_lag_seconds")}; mean rebuild ${await meanMs(reporter.url, "adpipe_reporter_rebuild_duration_seconds")}`,
    );
    const result = {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
    };
    console.log(
      `${label}: commit → KPI latency over ${latencies.length} commits: p50 ${result.p50.toFixed(0)} ms, p95 ${result.p95.toFixed(0)} ms, p99 ${result.p99.toFixed(0)} ms, max ${latencies[latencies.length - 1]?.toFixed(0)} ms (run ${elapsed.toFixed(1)} s)`,
    );
    return result;
  } finally {
    for (const s of services.reverse()) {
      s.proc.kill("SIGTERM");
      await s.proc.exited;
    }
    const nc = await connectNats({ url: env.NATS_URL });
    await deleteStreams(await nc.jetstreamManager(), namespace).catch(() => {});
    await nc.drain();
    await chs.stop();
    await db.drop();
  }
}

// The defaults, and the baseline measured in the same run: the extractor on its timer only
// (EXTRACT_LISTEN=false), as before the commit wake-up.
const current = await measure("defaults", {});
const baseline = await measure("baseline", { EXTRACT_LISTEN: "false" });
console.log(
  `ratio baseline / defaults: p50 ${(baseline.p50 / current.p50).toFixed(2)}x, p95 ${(baseline.p95 / current.p95).toFixed(2)}x, p99 ${(baseline.p99 / current.p99).toFixed(2)}x (target: p95 at defaults <= 1000 ms)`,
);
