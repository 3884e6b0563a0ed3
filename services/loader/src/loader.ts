import { streams, subjects, TABLES, type TableName } from "@adpipe/shared/contract";
import type { Logger } from "@adpipe/shared/logger";
import { type SchemaChangedEvent, schemaChangedEvent } from "@adpipe/shared/messages/schema-changed";
import { consumerStallMetrics, type Registry } from "@adpipe/shared/metrics";
import { consumerBacklog } from "@adpipe/shared/nats-consumers";
import type { PullFn } from "@adpipe/shared/nats-pull";
import type { ClickHouseClient } from "@clickhouse/client";
import type { JetStreamClient, JetStreamManager } from "nats";
import type { LoaderConfig } from "./config.ts";
import { createDeadLetters } from "./dead-letters.ts";
import { createLoaderMetrics } from "./metrics.ts";
import { createSchemaSync, SchemaBlockedError } from "./schema-sync.ts";
import { createTableLoop, type SchemaBlock } from "./table-loop.ts";

export interface LoaderDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  clickhouse: ClickHouseClient;
  config: Pick<
    LoaderConfig,
    | "ADPIPE_NAMESPACE"
    | "LOADER_FLUSH_MS"
    | "LOADER_MAX_INSERT_BYTES"
    | "LOADER_MAX_ATTEMPTS"
    | "LOADER_MAX_BACKOFF_MS"
  > &
    Partial<
      Pick<
        LoaderConfig,
        "LOADER_ACK_WAIT_MS" | "LOADER_DEDUP_TOKEN" | "CLICKHOUSE_CLUSTER" | "ADPIPE_CONSUMER_STALL_MS"
      >
    >;
  /** The NATS server's max_payload (`nc.info.max_payload`): every pull has room for one delta. */
  maxPayload?: number;
  /** Fault injection for tests: wraps a table's pulls (to make one stall). */
  wrapPull?: (table: TableName, pull: PullFn) => PullFn;
  logger: Logger;
  /** Where the loader's Prometheus metrics go. */
  registry?: Registry;
  afterInsert?: () => void;
  /** Core NATS publish (the connection's), for the schema-change events. */
  publish?: (subject: string, data: string) => void;
}

/** The loader: one loop per table on the tables' durable consumers, plus the dead-letter store. */
export function createLoader({
  js,
  jsm,
  clickhouse,
  config,
  logger,
  registry,
  afterInsert,
  maxPayload,
  wrapPull,
  publish,
}: LoaderDeps) {
  const namespace = config.ADPIPE_NAMESPACE;
  const deadLetters = createDeadLetters({ js, jsm, namespace });
  const metrics = registry
    ? createLoaderMetrics(
        registry,
        (table) => pending(table),
        () => deadLetterCounts(jsm, namespace).catch(() => null),
      )
    : undefined;
  const stalls =
    registry &&
    consumerStallMetrics(registry, () =>
      loops.map((l) => ({
        consumer: streams(namespace).loaderConsumer(l.table),
        stalled: l.health()?.stalledSince !== undefined,
      })),
    );
  for (const table of TABLES) metrics?.schemaBlocked.set({ table }, 0);
  /** The latest schema events, newest first (GET /status `schema_changes`, the dashboard). */
  const schemaChanges: SchemaChangedEvent[] = [];
  const announceSchema = (event: SchemaChangedEvent) => {
    schemaChanges.unshift(event);
    schemaChanges.length = Math.min(schemaChanges.length, 20);
    publish?.(subjects(namespace).schemaChanged(event.table), schemaChangedEvent.encode(event));
  };
  const schema = createSchemaSync({
    clickhouse,
    cluster: config.CLICKHOUSE_CLUSTER,
    onChange(event) {
      logger.info("schema change applied", event);
      metrics?.schemaChanges.inc({ table: event.table, change: event.change });
      announceSchema(event);
    },
  });
  /** Per table, the type change it is stopped on: its `resumed` event names the same column. */
  const stoppedOn = new Map<TableName, SchemaBlockedError>();
  const onBlocked = (table: TableName) => (block: SchemaBlock | undefined, err?: unknown) => {
    metrics?.schemaBlocked.set({ table }, block ? 1 : 0);
    const cause = err instanceof SchemaBlockedError ? err : block ? undefined : stoppedOn.get(table);
    if (block && err instanceof SchemaBlockedError) stoppedOn.set(table, err);
    if (!block) stoppedOn.delete(table);
    if (!cause) return;
    const event: SchemaChangedEvent = {
      table,
      change: block ? "blocked" : "resumed",
      column: cause.column,
      pgType: cause.pgType,
      from: cause.have,
      to: cause.want,
      ...(block ? { message: cause.message } : {}),
      at: new Date().toISOString(),
    };
    announceSchema(event);
  };
  const loops = TABLES.map((table) =>
    createTableLoop({
      table,
      namespace,
      js,
      jsm,
      clickhouse,
      deadLetters,
      maxPayload,
      stallMs: config.ADPIPE_CONSUMER_STALL_MS,
      onStall: (consumer) => stalls?.inc({ consumer }),
      wrapPull: wrapPull && ((pull) => wrapPull(table, pull)),
      logger,
      flushMs: config.LOADER_FLUSH_MS,
      maxInsertBytes: config.LOADER_MAX_INSERT_BYTES,
      maxAttempts: config.LOADER_MAX_ATTEMPTS,
      maxBackoffMs: config.LOADER_MAX_BACKOFF_MS,
      dedupTokens: config.LOADER_DEDUP_TOKEN ?? config.CLICKHOUSE_CLUSTER !== undefined,
      metrics,
      afterInsert,
      schema,
      onBlocked: onBlocked(table),
      heartbeatMs: Math.max(200, Math.floor((config.LOADER_ACK_WAIT_MS ?? 2_000) / 4)),
      onAnnounce: (err) => {
        if (!err) announceFailures.delete(table);
        else
          announceFailures.set(table, {
            message: err instanceof Error ? err.message : String(err),
            at: new Date().toISOString(),
          });
      },
    }),
  );
  const startedAt = new Date().toISOString();
  const stallMs = config.ADPIPE_CONSUMER_STALL_MS ?? 10_000;
  /** Per table, the last failed announcement while no later one succeeded (for /ready). */
  const announceFailures = new Map<TableName, { message: string; at: string }>();

  async function pending(table: TableName): Promise<{ pending: number; unacknowledged: number } | null> {
    return consumerBacklog(jsm, streams(namespace).delta, streams(namespace).loaderConsumer(table)).catch(
      () => null,
    );
  }

  return {
    namespace,
    deadLetters,
    async start(): Promise<void> {
      for (const loop of loops) await loop.start();
      logger.info("loading", { namespace, tables: TABLES });
    },
    async stop(): Promise<void> {
      await Promise.all(loops.map((l) => l.stop()));
    },
    /** Throws naming each table whose consumer is stalled or cannot pull (for /ready). */
    checkConsumers(): void {
      const now = Date.now();
      const problems = loops.flatMap((l) => {
        const h = l.health();
        if (h?.stalledSince !== undefined)
          return [`${l.table} consumer stalled since ${new Date(h.stalledSince).toISOString()}`];
        if (h?.failingSince !== undefined && now - h.failingSince >= stallMs)
          return [`${l.table} cannot pull since ${new Date(h.failingSince).toISOString()}: ${h.lastError}`];
        const blocked = l.schemaBlocked();
        if (blocked)
          return [`${l.table} stopped on a schema change since ${blocked.since}: ${blocked.message}`];
        return [];
      });
      if (problems.length > 0) throw new Error(problems.join("; "));
    },
    /** Throws while a table's loaded events cannot be published (its batches wait unacked). */
    checkAnnouncements(): void {
      const failing = [...announceFailures].map(([t, f]) => `${t} since ${f.at}: ${f.message}`);
      if (failing.length > 0) throw new Error(`loaded events cannot be published: ${failing.join("; ")}`);
    },
    async status() {
      const tables = await Promise.all(
        loops.map(async (l) => {
          const { recordLoad: _r, recordFreshness: _f, ...s } = l.stats;
          const h = l.health();
          const consumer = h && {
            stalled_since: h.stalledSince === undefined ? null : new Date(h.stalledSince).toISOString(),
            stall_recoveries: h.recoveries,
            last_delivery_at:
              h.lastDeliveryAt === undefined ? null : new Date(h.lastDeliveryAt).toISOString(),
            pull_error: h.lastError ?? null,
          };
          const blocked = l.schemaBlocked();
          const schemaBlocked = blocked ? { since: blocked.since, message: blocked.message } : null;
          return [
            l.table,
            { ...(await pending(l.table)), ...s, consumer, schema_blocked: schemaBlocked },
          ] as const;
        }),
      );
      return {
        started_at: startedAt,
        namespace,
        tables: Object.fromEntries(tables),
        announce_failures: Object.fromEntries(announceFailures),
        schema_changes: schemaChanges,
      };
    },
  };
}

export type Loader = ReturnType<typeof createLoader>;

/**
 * Messages in the dead-letter stream per subject: `<ns>.dlq.<table>` the loader's batches,
 * `<ns>.dlq.reporter.<table>` the reporter's events (JetStream counts them per subject).
 */
async function deadLetterCounts(jsm: JetStreamManager, namespace: string) {
  const info = await jsm.streams.info(streams(namespace).dlq, { subjects_filter: ">" });
  const prefix = `${namespace}.dlq.`;
  const counts = TABLES.flatMap((table) => [
    { table, by: "loader", count: 0 },
    { table, by: "reporter", count: 0 },
  ]);
  for (const [subject, n] of Object.entries(info.state.subjects ?? {})) {
    const rest = subject.slice(prefix.length).split(".");
    const [by, table] = rest.length === 2 ? [rest[0], rest[1]] : ["loader", rest[0]];
    const c = counts.find((x) => x.table === table && x.by === by);
    if (c) c.count += n;
  }
  return counts;
}
