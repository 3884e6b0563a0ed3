import { startTestClickHouse, type TestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { createExtractor, createVerifier, type Extractor, loadExtractorConfig } from "@adpipe/extractor";
import { createLoader, type Loader } from "@adpipe/loader";
import { loaderTestConfig } from "@adpipe/loader/testing";
import {
  createApp,
  createKpis,
  createReporter,
  createReporterMetrics,
  loadQueries,
  type Queries,
  type Reporter,
} from "@adpipe/reporter";
import { testSecurity } from "@adpipe/shared/api-testing";
import { streams, TABLES } from "@adpipe/shared/contract";
import { createLogger, type Logger } from "@adpipe/shared/logger";
import { loadedEvent } from "@adpipe/shared/messages/loaded";
import { createRegistry, type Registry } from "@adpipe/shared/metrics";
import { connectNats, deleteStreams, ensureStreams } from "@adpipe/shared/nats";
import {
  consumerIdle,
  ensureLoaderConsumers,
  ensureReporterConsumer,
  loaderConsumersIdle,
} from "@adpipe/shared/nats-consumers";
import type { PullFn } from "@adpipe/shared/nats-pull";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
import { createPool, type Pool } from "@adpipe/shared/pg";
import { createTestDatabase, type TestDatabase, uniqueName, waitFor } from "@adpipe/shared/testing";
import type { JetStreamManager, NatsConnection } from "nats";

export const natsUrl = process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222";
export const testLogger = createLogger("reporter-test", (process.env.TEST_LOG_LEVEL ?? "silent") as "silent");

export const reporterTestConfig = (namespace: string) => ({
  ADPIPE_NAMESPACE: namespace,
  REPORTER_COALESCE_MS: 100,
  REPORTER_MAX_BACKOFF_MS: 500,
  REPORTER_MAX_TOUCHED_KEYS: 2000,
  REPORTER_DATE_CHECK_MS: 60_000,
});

/** One test file's reporter world: ClickHouse, a NATS namespace, a running reporter and its app. */
export interface ReporterWorld {
  chs: TestClickHouse;
  nc: NatsConnection;
  jsm: JetStreamManager;
  namespace: string;
  reporter: Reporter;
  app: ReturnType<typeof createApp>;
  get(path: string): Promise<unknown>;
  /** The clock the KPI reads pace by: `options.now`, or the moment the world was made (fixed, so a
   * comparison with PostgreSQL's figures reads both at the same instant). */
  now: () => Date;
  /** Restarts the reporter (new instance, same consumer and tables). */
  restartReporter(): Promise<void>;
  close(): Promise<void>;
}

export interface WorldOptions {
  /** The UTC date the reporter computes reports for (default: the real one). */
  today?: () => string;
  /** The clock the KPI reads pace by (default: the real one). */
  now?: () => Date;
  /** Where the world's NATS is: the test server by default, or a cluster with replicated streams. */
  natsUrl?: string;
  streamReplicas?: number;
  /** Reporter settings to override (e.g. a shorter heal interval). */
  config?: Partial<ReturnType<typeof reporterTestConfig>> & {
    REPORTER_HEAL_INTERVAL_MS?: number;
    REPORTER_MAX_ATTEMPTS?: number;
    ADPIPE_CONSUMER_STALL_MS?: number;
  };
  /** The reporter's logger (default: silent), e.g. to check what it logs. */
  logger?: Logger;
  /** The reporter's statements (default: services/reporter/sql), e.g. one made to fail. */
  queries?: Queries;
  /** Wraps the reporter's pulls of loaded events (to make one stall). */
  wrapPull?: (pull: PullFn) => PullFn;
}

export async function createReporterWorld(options: WorldOptions = {}): Promise<ReporterWorld> {
  const chs = await startTestClickHouse();
  await migrateOlap(chs.client, chs.database);
  const nc = await connectNats({ url: options.natsUrl ?? natsUrl });
  const jsm = await nc.jetstreamManager();
  const namespace = uniqueName("rep");
  await ensureStreams(jsm, namespace, { replicas: options.streamReplicas });
  await ensureReporterConsumer(jsm, namespace, { ackWaitMs: 5000 });
  const queries = options.queries ?? loadQueries();
  const madeAt = new Date();
  const now = options.now ?? (() => madeAt);
  const registry = createRegistry("reporter");
  const metrics = createReporterMetrics(registry, () => world.reporter.status());
  const make = () =>
    createReporter({
      js: nc.jetstream(),
      jsm,
      clickhouse: chs.client,
      config: { ...reporterTestConfig(namespace), ...options.config },
      logger: options.logger ?? testLogger,
      queries,
      today: options.today,
      onRebuild: (r) => metrics.record(r),
      onReported: (events) => metrics.reported(events),
      maxPayload: nc.info?.max_payload,
      wrapPull: options.wrapPull,
    });
  const world: ReporterWorld = {
    chs,
    nc,
    jsm,
    namespace,
    reporter: make(),
    now,
    app: undefined as unknown as ReturnType<typeof createApp>,
    async get(path: string) {
      const res = await world.app.request(path);
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
      return res.json();
    },
    async restartReporter() {
      await world.reporter.stop();
      world.reporter = make();
      await world.reporter.start();
      world.app = build();
    },
    async close() {
      await world.reporter.stop().catch(() => {});
      await deleteStreams(jsm, namespace).catch(() => {});
      await nc.drain().catch(() => {});
      await chs.stop();
    },
  };
  const build = () =>
    createApp({
      reporter: world.reporter,
      kpis: createKpis(chs.client, queries, now),
      nc,
      clickhouse: chs.client,
      logger: testLogger,
      registry,
      // No other service in these tests: the dashboard shows them down (quickly).
      dashboard: {
        namespace,
        queries,
        upstreams: {
          generator: "http://127.0.0.1:9",
          extractor: "http://127.0.0.1:9",
          loader: "http://127.0.0.1:9",
        },
        timeoutMs: 300,
      },
      security: testSecurity,
    });
  await world.reporter.start();
  world.app = build();
  return world;
}

/**
 * The whole pipeline in-process: PostgreSQL → extractor → NATS → loader → ClickHouse → reporter,
 * each service built from its package's public factory. The one harness of tests that run the
 * pipeline (here and in e2e/): each world has its own database, namespace and ClickHouse database.
 */
export interface PipelineWorld extends ReporterWorld {
  db: TestDatabase;
  pool: Pool;
  extractor: Extractor;
  loader: Loader;
  /** The loader's Prometheus registry (its /metrics). */
  loaderRegistry: Registry;
  /**
   * Runs extraction cycles until one finds nothing new in any table (a failed cycle throws), then
   * waits for the loader to drain: everything committed before the call is in ClickHouse.
   */
  settle(timeoutMs?: number): Promise<void>;
  /** Resolves once every change committed before the call is in the reports. */
  idle(): Promise<void>;
}

export interface PipelineOptions extends WorldOptions {
  /**
   * The extractor polls in the background every 50 ms (default); `false`: nothing is extracted
   * except by the test's own `extract()`, `settle()` or `idle()` calls (e.g. while it drives
   * another extractor under faults).
   */
  extractInBackground?: boolean;
  /** Loader settings to override. */
  loader?: { LOADER_FLUSH_MS?: number; LOADER_MAX_INSERT_BYTES?: number };
}

export async function createPipelineWorld(options: PipelineOptions = {}): Promise<PipelineWorld> {
  const world = await createReporterWorld(options);
  const db = await createTestDatabase();
  const pool = createPool({ connectionString: db.url, max: 10 });
  const { namespace, nc, jsm, chs } = world;
  const closeReporterWorld = world.close;
  await ensureLoaderConsumers(jsm, namespace, { ackWaitMs: 5000 });
  const extractor = createExtractor({
    pool,
    js: nc.jetstream(),
    maxPayload: nc.info?.max_payload ?? 1024 * 1024,
    config: loadExtractorConfig({
      DATABASE_URL: db.url,
      NATS_URL: options.natsUrl ?? natsUrl,
      ADPIPE_NAMESPACE: namespace,
      EXTRACT_INTERVAL_MS: "50",
    }),
    logger: testLogger,
  });
  const loaderRegistry = createRegistry("loader");
  const loader = createLoader({
    js: nc.jetstream(),
    jsm,
    clickhouse: chs.client,
    config: { ...loaderTestConfig(namespace), ...options.loader },
    logger: testLogger,
    registry: loaderRegistry,
    publish: (subject, data) => nc.publish(subject, data),
  });
  await loader.start();
  if (options.extractInBackground !== false) extractor.start();

  const s = streams(namespace);
  const loaderDrained = () => loaderConsumersIdle(jsm, namespace);

  return Object.assign(world, {
    db,
    pool,
    extractor,
    loader,
    loaderRegistry,
    async settle(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const { results } = await extractor.extract();
        const failed = results.find((r) => r.status === "failed");
        if (failed) throw new Error(`extraction failed: ${failed.table}: ${failed.error}`);
        // A paused table has nothing to extract until resumed.
        const busy = results.some((r) => r.status !== "idle" && r.status !== "paused");
        if (!busy && (await loaderDrained())) return;
        await Bun.sleep(busy ? 0 : 20);
      }
      throw new Error(`pipeline did not settle within ${timeoutMs} ms`);
    },
    async idle() {
      // Extracted up to now: a cycle that finds nothing new in any table (a failed cycle, e.g.
      // while a NATS node is down, is tried again).
      const caughtUp = (s: string) => s === "idle" || s === "paused";
      await waitFor(async () => (await extractor.extract()).results.every((r) => caughtUp(r.status)), {
        what: "extractor caught up",
        timeoutMs: 30_000,
      });
      await waitFor(loaderDrained, { what: "loader drained", timeoutMs: 30_000 });
      // The loader publishes its loaded event after acking: wait for every delta's watermark.
      await waitFor(
        async () => {
          const status = await world.reporter.status();
          if (!(await consumerIdle(jsm, s.events, s.reporterConsumer))) return false;
          for (const table of TABLES) {
            const published = await lastDeltaWatermark(jsm, namespace, table);
            if (published === null) continue;
            const covered = status.watermark[table];
            if (covered === undefined || BigInt(covered) < published) return false;
          }
          return true;
        },
        { what: "reports caught up", timeoutMs: 30_000 },
      );
    },
    async close() {
      await extractor.stop();
      await loader.stop();
      await closeReporterWorld();
      await pool.end();
      await db.drop();
    },
  }) as PipelineWorld;
}

/** The upper watermark of the last delta published for a table, or null when none was. */
async function lastDeltaWatermark(
  jsm: JetStreamManager,
  namespace: string,
  table: string,
): Promise<bigint | null> {
  try {
    const msg = await jsm.streams.getMessage(streams(namespace).delta, {
      last_by_subj: `${namespace}.delta.${table}`,
    });
    return BigInt(msg.header.get("Adpipe-Watermark-To"));
  } catch {
    return null;
  }
}

let nextXid = 100n;

/**
 * Plays the loader for tests without PostgreSQL: inserts entity rows into ClickHouse under a new
 * transaction id and announces them with a loaded event, exactly as the loader would.
 */
export async function loadAndAnnounce(
  world: ReporterWorld,
  table: "advertiser" | "campaign" | "impressions" | "clicks",
  columns: string,
  values: string[],
  kinds: ("upsert" | "delete" | "truncate")[] = ["upsert"],
): Promise<bigint> {
  const xid = nextXid++;
  const body = values.map((v) => v.replaceAll("$XID", xid.toString())).join(",");
  await world.chs.client.command({ query: `INSERT INTO ${table} (${columns}) VALUES ${body}` });
  await world.nc.jetstream().publish(
    `${world.namespace}.loaded.${table}`,
    loadedEvent.encode({
      table,
      batchIds: [`test-${xid}`],
      kinds,
      rows: values.length,
      watermark: (xid + 1n).toString(),
      windows: [{ from: xid.toString(), to: (xid + 1n).toString() }],
      loadedAt: new Date().toISOString(),
    }),
  );
  return xid;
}

/** Campaigns 1..n of advertiser 1, announced; impressions ids continue from `firstId`. */
export async function seedCampaigns(world: ReporterWorld, n: number): Promise<void> {
  await loadAndAnnounce(world, "advertiser", "id, name, _version, _xid", ["(1, 'acme', 1, $XID)"]);
  await loadAndAnnounce(
    world,
    "campaign",
    "id, name, bid, budget, start_date, end_date, advertiser_id, _version, _xid",
    Array.from(
      { length: n },
      (_, i) => `(${i + 1}, 'c${i + 1}', 1.5, 100, today() - 3, today() + 10, 1, ${i + 2}, $XID)`,
    ),
  );
}

let nextFactId = 1;
let nextFactVersion = 1000;

/** `count` impressions (or clicks) for a campaign today, loaded and announced. */
export async function addFacts(
  world: ReporterWorld,
  table: "impressions" | "clicks",
  campaignId: number,
  count: number,
): Promise<bigint> {
  const rows = Array.from(
    { length: count },
    () => `(${nextFactId++}, ${campaignId}, now64(6, 'UTC'), ${nextFactVersion++}, $XID)`,
  );
  return loadAndAnnounce(world, table, "id, campaign_id, created_at, _version, _xid", rows);
}

type VerifierDeps = Parameters<typeof createVerifier>[0];

/**
 * A verifier over a pipeline world, run on demand (`verify()`, no interval), with ranges small
 * enough that a test's rows span several. `pool` (e.g. a read-only one), `config` and `metrics`
 * override the defaults.
 */
export function createTestVerifier(
  world: PipelineWorld,
  options: { pool?: Pool; config?: Partial<VerifierDeps["config"]>; metrics?: VerifierDeps["metrics"] } = {},
) {
  return createVerifier({
    pool: options.pool ?? world.pool,
    clickhouse: world.chs.client,
    nc: world.nc,
    js: world.nc.jetstream(),
    config: {
      namespace: world.namespace,
      intervalMs: 0,
      chunkIds: 500,
      leafIds: 16,
      settleMs: 300,
      recheckTimeoutMs: 60_000,
      limits: { maxBytes: 512 * 1024, maxRows: 1000 },
      maxInFlight: 4,
      ...options.config,
    },
    logger: testLogger,
    metrics: options.metrics,
  });
}
