import {
  connect,
  DiscardPolicy,
  type JetStreamManager,
  type NatsConnection,
  type NatsError,
  nanos,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from "nats";
import type { Logger } from "../config/logger.ts";
import { streams, subjects } from "../contract.ts";
import { createNatsStatusLog, type NatsStatusLike } from "./nats-status.ts";

export interface ConnectNatsOptions {
  /** One server URL, or several separated by commas (the servers of one cluster). */
  url: string;
  /** Shows up in the server's connection list (`nats server report connections`). */
  name?: string;
  logger?: Logger;
  /** Upper bound for the first connection attempt; later disconnects reconnect forever. */
  timeoutMs?: number;
  /** This service's own NATS user (NATS_USER / NATS_PASSWORD), where the server has users. */
  user?: string;
  pass?: string;
}

/**
 * How a client notices that its server is gone and moves to another (docs/cluster.md#failover).
 * A server that dies closes its sockets, and the client reconnects to another at once (servers
 * not tried within `reconnectTimeWait` are tried without waiting). A server that stops answering
 * without closing them (a frozen host, a cut network) is noticed by pings: one every
 * `pingInterval`, and the connection is dropped when more than `maxPingOut` go unanswered, so
 * within about 6 s instead of nats.js's default 4 minutes (2-minute pings).
 */
export const NATS_CONNECTION_TIMING = { pingInterval: 2000, maxPingOut: 2, reconnectTimeWait: 1000 } as const;

/**
 * Connects and keeps reconnecting for as long as the process lives: a NATS restart must not take
 * a service down, and `/ready` reports the gap meanwhile. Status changes are logged (nats-status.ts).
 */
export async function connectNats({ url, name, logger, timeoutMs = 5000, user, pass }: ConnectNatsOptions) {
  const nc = await connect({
    servers: natsServers(url),
    ...(user ? { user, pass } : {}),
    name,
    timeout: timeoutMs,
    maxReconnectAttempts: -1,
    ...NATS_CONNECTION_TIMING,
  });
  if (logger) {
    const log = createNatsStatusLog(logger);
    (async () => {
      for await (const status of nc.status()) log(status as NatsStatusLike);
    })().catch(() => {});
  }
  return nc;
}

/**
 * Whether the connection is up right now, from its status events (nats.js has no getter): false
 * from a disconnect to the next reconnect, and once closed. For `adpipe_nats_connected`.
 */
export function natsConnected(nc: NatsConnection): () => boolean {
  let up = true;
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") up = false;
      else if (s.type === "reconnect") up = true;
    }
  })().catch(() => {});
  return () => up && !nc.isClosed();
}

/** `NATS_URL` as the list of servers nats.js expects (`a,b,c` → `[a, b, c]`). */
export function natsServers(url: string): string[] {
  return url
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Throws when the connection cannot round-trip to the server right now (for `/ready`). */
export async function pingNats(nc: NatsConnection): Promise<void> {
  if (nc.isClosed()) throw new Error("connection closed");
  await nc.flush();
}

const DAY_MS = 24 * 60 * 60 * 1000;

export interface StreamLimits {
  /** How long deltas stay when no consumer removed them; the loader must catch up within it. */
  maxAgeMs?: number;
  /** Publishes carrying a `Nats-Msg-Id` seen within this window are dropped as duplicates. */
  duplicateWindowMs?: number;
  /** Bytes the delta stream may hold; when full, publishes fail (nothing is discarded). */
  deltaMaxBytes?: number;
  /**
   * Copies of every stream (`NATS_STREAM_REPLICAS`): 1 on a single server; 3 on a three-node
   * cluster, where a stream keeps accepting and serving messages while one node is down.
   */
  replicas?: number;
}

/** The three streams of a namespace, as the one place that declares them. */
export function streamConfigs(namespace: string, limits: StreamLimits = {}): StreamConfig[] {
  const {
    maxAgeMs = 7 * DAY_MS,
    duplicateWindowMs = 2 * 60 * 1000,
    deltaMaxBytes = -1,
    replicas = 1,
  } = limits;
  const names = streams(namespace);
  const subj = subjects(namespace);
  const base = {
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_age: nanos(maxAgeMs),
    duplicate_window: nanos(duplicateWindowMs),
    num_replicas: replicas,
    max_msgs: -1,
    max_msgs_per_subject: -1,
    max_msg_size: -1,
    max_consumers: -1,
  };
  return [
    // Discard "new": a full delta stream rejects publishes, so the extractor retries the window
    // instead of the stream silently dropping deltas the loader has not read yet.
    {
      ...base,
      name: names.delta,
      subjects: [subj.deltaAll],
      max_bytes: deltaMaxBytes,
      discard: DiscardPolicy.New,
    } as StreamConfig,
    {
      ...base,
      name: names.dlq,
      subjects: [subj.dlqAll],
      max_bytes: -1,
      discard: DiscardPolicy.Old,
    } as StreamConfig,
    {
      ...base,
      name: names.events,
      subjects: [subj.loadedAll, subj.reportsUpdated],
      max_bytes: -1,
      discard: DiscardPolicy.Old,
    } as StreamConfig,
  ];
}

const isStreamNotFound = (err: unknown) => (err as NatsError).api_error?.err_code === 10059;

/**
 * Creates the namespace's streams, or updates them to the declared configuration when they exist.
 * Safe to run from every service at start-up, concurrently: a lost creation race becomes an update.
 * A changed `replicas` changes an existing stream's replica count (a cluster adds or drops copies).
 */
export async function ensureStreams(
  jsm: JetStreamManager,
  namespace: string,
  limits: StreamLimits = {},
): Promise<StreamInfo[]> {
  const infos: StreamInfo[] = [];
  for (const config of streamConfigs(namespace, limits)) {
    infos.push(await ensureStream(jsm, config));
  }
  return infos;
}

async function ensureStream(jsm: JetStreamManager, config: StreamConfig): Promise<StreamInfo> {
  try {
    await jsm.streams.info(config.name);
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
    try {
      return await jsm.streams.add(config);
    } catch (addErr) {
      // 10058: another process created it between our lookup and our add.
      if ((addErr as NatsError).api_error?.err_code !== 10058) throw addErr;
    }
  }
  const { name, ...update } = config;
  return jsm.streams.update(name, update);
}

/** Removes the namespace's streams (tests and benchmarks clean up with it). */
export async function deleteStreams(jsm: JetStreamManager, namespace: string): Promise<void> {
  for (const name of [streams(namespace).delta, streams(namespace).dlq, streams(namespace).events]) {
    try {
      await jsm.streams.delete(name);
    } catch (err) {
      if (!isStreamNotFound(err)) throw err;
    }
  }
}
