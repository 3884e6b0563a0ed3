import { type DeltaKind, streams, type TableName } from "@adpipe/shared/contract";
import { createLogger } from "@adpipe/shared/logger";
import { decodeDelta } from "@adpipe/shared/messages/delta";
import { connectNats, deleteStreams, ensureStreams } from "@adpipe/shared/nats";
import { createPool, type Pool } from "@adpipe/shared/pg";
import { createTestDatabase, type TestDatabase, uniqueName } from "@adpipe/shared/testing";
import type { NatsConnection } from "nats";
import { loadConfig } from "./config.ts";
import type { CycleHooks } from "./cycle.ts";
import { createExtractor } from "./extractor.ts";

export const natsUrl = process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222";

/** One test file's world: its own database, NATS namespace and streams; `close()` removes them. */
export interface Harness {
  db: TestDatabase;
  pool: Pool;
  nc: NatsConnection;
  namespace: string;
  config: ReturnType<typeof loadConfig>;
  newExtractor(hooks?: CycleHooks, env?: Record<string, string>): ReturnType<typeof createExtractor>;
  deltas(): Promise<Delta[]>;
  close(): Promise<void>;
}

export interface Delta {
  seq: number;
  subject: string;
  table: TableName;
  kind: DeltaKind;
  batchId: string;
  from: string;
  to: string;
  rowCount: number;
  columns: string[];
  rows: Record<string, string>[];
  body: string;
}

export async function createHarness(): Promise<Harness> {
  const db = await createTestDatabase();
  const pool = createPool({ connectionString: db.url, max: 20 });
  const nc = await connectNats({ url: natsUrl });
  const namespace = uniqueName("ex");
  const jsm = await nc.jetstreamManager();
  await ensureStreams(jsm, namespace);
  const logger = createLogger("extractor-test", "silent");
  const env = { DATABASE_URL: db.url, NATS_URL: natsUrl, ADPIPE_NAMESPACE: namespace, LOG_LEVEL: "silent" };
  const config = loadConfig(env);

  return {
    db,
    pool,
    nc,
    namespace,
    config,
    newExtractor: (hooks, extra = {}) =>
      createExtractor({
        pool,
        js: nc.jetstream(),
        maxPayload: nc.info?.max_payload ?? 1024 * 1024,
        config: loadConfig({ ...env, ...extra }),
        logger,
        hooks,
      }),
    deltas: () => readDeltas(nc, namespace),
    async close() {
      await deleteStreams(jsm, namespace).catch(() => {});
      await nc.drain().catch(() => {});
      await pool.end();
      await db.drop();
    },
  };
}

/** Every message in the namespace's delta stream, in stream order, with its TSV body parsed. */
export async function readDeltas(nc: NatsConnection, namespace: string): Promise<Delta[]> {
  const jsm = await nc.jetstreamManager();
  const stream = streams(namespace).delta;
  const info = await jsm.streams.info(stream);
  const out: Delta[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const msg = await jsm.streams.getMessage(stream, { seq });
    // Read as the loader reads it: a delta that breaks the contract fails the test here.
    const decoded = decodeDelta(msg.header, msg.data);
    if (!decoded.ok) throw new Error(`delta #${seq} on ${msg.subject}: ${decoded.reason}`);
    const { delta } = decoded;
    const columns = [...delta.columns];
    const body = new TextDecoder().decode(msg.data);
    const rows = body
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => Object.fromEntries(line.split("\t").map((v, i) => [columns[i] ?? `c${i}`, v])));
    out.push({
      seq,
      subject: msg.subject,
      table: delta.table,
      kind: delta.kind,
      batchId: delta.batchId,
      from: delta.watermarkFrom,
      to: delta.watermarkTo,
      rowCount: delta.rows,
      columns,
      rows,
      body,
    });
  }
  return out;
}

/** Published rows of one table and kind, as `id@version` strings (tombstones use `id`). */
export function publishedVersions(deltas: Delta[], table: TableName, kind: DeltaKind = "upsert"): string[] {
  return deltas
    .filter((d) => d.table === table && d.kind === kind)
    .flatMap((d) => d.rows.map((r) => `${r.id}@${r._version}`));
}

/** A harness with one advertiser and its campaign already written (most extractor tests start so). */
export async function seededHarness(): Promise<{ h: Harness; campaignId: number }> {
  const h = await createHarness();
  return { h, campaignId: await seedCampaign(h.pool) };
}

export async function seedCampaign(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ id: string }>(
    `WITH a AS (INSERT INTO advertiser (name) VALUES ('acme') RETURNING id)
     INSERT INTO campaign (name, bid, budget, advertiser_id) SELECT 'spring', 1.25, 100, id FROM a RETURNING id`,
  );
  return Number(rows[0]?.id ?? 0); // bigint comes back as text
}
