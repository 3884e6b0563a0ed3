import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  type JetStreamManager,
  type NatsError,
  nanos,
} from "nats";
import { streams, subjects, TABLES, type TableName } from "../contract.ts";
import type { ServerBacklog } from "./consumer-watchdog.ts";

export interface LoaderConsumerOptions {
  /** How long a delivered, unacknowledged batch waits before JetStream delivers it again. */
  ackWaitMs?: number;
  /** Deliveries a loader may hold unacknowledged per table (bounds its memory with max bytes). */
  maxAckPending?: number;
}

/** The loader's durable consumer for one table: explicit acks, every delta from the first. */
export function loaderConsumerConfig(namespace: string, table: TableName, opts: LoaderConsumerOptions = {}) {
  return {
    durable_name: streams(namespace).loaderConsumer(table),
    filter_subject: subjects(namespace).delta(table),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(opts.ackWaitMs ?? 30_000),
    max_ack_pending: opts.maxAckPending ?? 20_000,
    // Attempts are bounded by the loader itself (it dead-letters a poison message), because only
    // it can tell a poison batch from a ClickHouse outage, which must be retried without limit.
    max_deliver: -1,
  } satisfies Partial<ConsumerConfig>;
}

/** Creates or updates the loader's durable consumers; idempotent, safe from several loaders at once. */
export async function ensureLoaderConsumers(
  jsm: JetStreamManager,
  namespace: string,
  opts: LoaderConsumerOptions = {},
): Promise<void> {
  const stream = streams(namespace).delta;
  for (const table of TABLES) {
    const config = loaderConsumerConfig(namespace, table, opts);
    try {
      await jsm.consumers.info(stream, config.durable_name);
      await jsm.consumers.update(stream, config.durable_name, {
        ack_wait: config.ack_wait,
        max_ack_pending: config.max_ack_pending,
      });
    } catch (err) {
      if ((err as NatsError).api_error?.err_code !== 10014) throw err; // consumer not found
      await jsm.consumers.add(stream, config);
    }
  }
}

export interface ReporterConsumerOptions {
  /** How long events of a rebuild in progress stay unacknowledged before JetStream resends them. */
  ackWaitMs?: number;
}

/** The reporter's durable consumer: every loaded event from the first, explicit acks. */
export function reporterConsumerConfig(namespace: string, opts: ReporterConsumerOptions = {}) {
  return {
    durable_name: streams(namespace).reporterConsumer,
    filter_subject: subjects(namespace).loadedAll,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(opts.ackWaitMs ?? 60_000),
    max_ack_pending: 10_000,
    // A rebuild fails only while ClickHouse does; retried without limit (invalid events are terminated).
    max_deliver: -1,
  } satisfies Partial<ConsumerConfig>;
}

/** Creates or updates the reporter's durable consumer; idempotent. */
export async function ensureReporterConsumer(
  jsm: JetStreamManager,
  namespace: string,
  opts: ReporterConsumerOptions = {},
): Promise<void> {
  const stream = streams(namespace).events;
  const config = reporterConsumerConfig(namespace, opts);
  try {
    await jsm.consumers.info(stream, config.durable_name);
    await jsm.consumers.update(stream, config.durable_name, { ack_wait: config.ack_wait });
  } catch (err) {
    if ((err as NatsError).api_error?.err_code !== 10014) throw err; // consumer not found
    await jsm.consumers.add(stream, config);
  }
}

/**
 * The reporter's lease bucket (services/reporter/src/lease.ts): one key, one revision kept, as many
 * copies as the streams. No TTL on the bucket: a lease expires by the reporters' own rule.
 */
export async function ensureReporterLease(
  jsm: JetStreamManager,
  namespace: string,
  opts: { replicas?: number } = {},
): Promise<void> {
  const bucket = streams(namespace).reporterLease;
  const replicas = opts.replicas ?? 1;
  await jsm.jetstream().views.kv(bucket, { history: 1, replicas });
  // An existing bucket keeps its config: follow a changed replica count, as the streams do.
  const info = await jsm.streams.info(`KV_${bucket}`);
  if (info.config.num_replicas !== replicas)
    await jsm.streams.update(`KV_${bucket}`, { ...info.config, num_replicas: replicas });
}

/** What a durable consumer still holds: messages not yet delivered, and delivered but not acked. */
export interface Backlog {
  pending: number;
  unacknowledged: number;
}

export async function consumerBacklog(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
): Promise<Backlog> {
  const info = await jsm.consumers.info(stream, durable);
  return { pending: info.num_pending, unacknowledged: info.num_ack_pending };
}

/**
 * The stall watchdog's question (shared/src/nats/consumer-watchdog.ts): does the server hold messages
 * for this consumer that it is free to deliver?
 */
export async function serverBacklog(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
): Promise<ServerBacklog> {
  const info = await jsm.consumers.info(stream, durable);
  const limit = info.config.max_ack_pending ?? -1;
  return { pending: info.num_pending, blocked: limit > 0 && info.num_ack_pending >= limit };
}

/** True when the consumer holds nothing: every message delivered and acknowledged. */
export async function consumerIdle(jsm: JetStreamManager, stream: string, durable: string): Promise<boolean> {
  const b = await consumerBacklog(jsm, stream, durable);
  return b.pending === 0 && b.unacknowledged === 0;
}

/** True when no table's loader consumer holds an undelivered or unacknowledged batch. */
export async function loaderConsumersIdle(jsm: JetStreamManager, namespace: string): Promise<boolean> {
  for (const table of TABLES) {
    if (!(await consumerIdle(jsm, streams(namespace).delta, streams(namespace).loaderConsumer(table))))
      return false;
  }
  return true;
}
