// The extractor and loader in one process against real PostgreSQL, NATS and the embedded
// ClickHouse, each with its own database / namespace; for end-to-end tests and bench:load.
import { startTestClickHouse, type TestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { createExtractor, loadExtractorConfig } from "@adpipe/extractor";
import { createLoader } from "@adpipe/loader";
import { createLogger } from "@adpipe/shared/logger";
import { connectNats, deleteStreams, ensureStreams } from "@adpipe/shared/nats";
import { ensureLoaderConsumers, loaderConsumersIdle } from "@adpipe/shared/nats-consumers";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
import { createPool, type Pool } from "@adpipe/shared/pg";
import { createTestDatabase, type TestDatabase, uniqueName } from "@adpipe/shared/testing";
import type { JetStreamManager, NatsConnection } from "nats";

export interface Pipeline {
  db: TestDatabase;
  pool: Pool;
  ch: TestClickHouse;
  nc: NatsConnection;
  jsm: JetStreamManager;
  namespace: string;
  extractor: ReturnType<typeof createExtractor>;
  loader: ReturnType<typeof createLoader>;
  /** Runs extraction cycles until one publishes nothing, then waits for the loader to drain. */
  settle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startPipeline({ flushMs = 50, maxInsertBytes = 64 << 20 } = {}): Promise<Pipeline> {
  const db = await createTestDatabase();
  const pool = createPool({ connectionString: db.url, max: 8 });
  const ch = await startTestClickHouse();
  await migrateOlap(ch.client, ch.database);
  const nc = await connectNats({ url: process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222" });
  const jsm = await nc.jetstreamManager();
  const namespace = uniqueName("e2e");
  await ensureStreams(jsm, namespace);
  await ensureLoaderConsumers(jsm, namespace);
  const logger = createLogger("e2e", (process.env.TEST_LOG_LEVEL ?? "silent") as "silent");
  const extractor = createExtractor({
    pool,
    js: nc.jetstream(),
    maxPayload: nc.info?.max_payload ?? 1 << 20,
    config: loadExtractorConfig({ DATABASE_URL: db.url, ADPIPE_NAMESPACE: namespace }),
    logger,
  });
  const loader = createLoader({
    js: nc.jetstream(),
    jsm,
    clickhouse: ch.client,
    config: {
      ADPIPE_NAMESPACE: namespace,
      LOADER_FLUSH_MS: flushMs,
      LOADER_MAX_INSERT_BYTES: maxInsertBytes,
      LOADER_MAX_ATTEMPTS: 3,
      LOADER_MAX_BACKOFF_MS: 1000,
    },
    logger,
  });
  await loader.start();

  return {
    db,
    pool,
    ch,
    nc,
    jsm,
    namespace,
    extractor,
    loader,
    async settle(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const { results } = await extractor.extract();
        const failed = results.find((r) => r.status === "failed");
        if (failed) throw new Error(`extraction failed: ${failed.table}: ${failed.error}`);
        const busy = results.some((r) => r.status !== "idle");
        if (!busy && (await loaderConsumersIdle(jsm, namespace))) return;
        await Bun.sleep(busy ? 0 : 20);
      }
      throw new Error(`pipeline did not settle within ${timeoutMs} ms`);
    },
    async close() {
      await loader.stop();
      await deleteStreams(jsm, namespace);
      await nc.close();
      await ch.stop();
      await pool.end();
      await db.drop();
    },
  };
}
