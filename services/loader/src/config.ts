import { bool, milliseconds as ms, olapServiceSettings, parseConfig, settings } from "@adpipe/shared/config";
import { DEFAULT_LOADER_ACK_WAIT_MS } from "@adpipe/shared/nats-provision";
import { z } from "zod";

export function loadConfig(env: Record<string, string | undefined> = process.env) {
  return parseConfig(
    {
      ...olapServiceSettings,
      PORT: settings.PORT.default(3003),
      /** A batch waits at most this long for more batches of its table before the insert. */
      LOADER_FLUSH_MS: ms(0, 60_000, 100),
      /** An insert carries at most this many bytes (batches are never split). */
      LOADER_MAX_INSERT_BYTES: z.coerce
        .number()
        .int()
        .min(1 << 20)
        .max(1 << 30)
        .default(16 << 20),
      /** Deliveries of a batch ClickHouse rejects before it goes to the dead-letter stream. */
      LOADER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
      /**
       * Unacknowledged batches come back after this long (a loader that died holding them). Short
       * on purpose: a live loader tells JetStream it is still working on what it holds (every
       * quarter of it), so another loader takes a dead one's batches over within about this plus
       * one insert (docs/cluster.md#failover); an event loop blocked longer only costs a re-insert.
       */
      LOADER_ACK_WAIT_MS: ms(1000, 3_600_000, DEFAULT_LOADER_ACK_WAIT_MS),
      /**
       * Send each INSERT's batch ids as insert_deduplication_token, so a retried insert (on this
       * replica or another) is stored once. Default: on with CLICKHOUSE_CLUSTER, off on a single
       * server, where a duplicate only costs disk until merges (the tables are versioned).
       */
      LOADER_DEDUP_TOKEN: bool.optional(),
      /** Longest pause between retries while ClickHouse is unreachable. */
      LOADER_MAX_BACKOFF_MS: ms(100, 300_000, 30_000),
      /**
       * Fault injection for tests only: the chance (0..1; "1" always) that the process kills itself
       * with SIGKILL right after an insert reached ClickHouse, before it is announced and acked.
       */
      ADPIPE_TEST_CRASH_AFTER_INSERT: z.coerce.number().min(0).max(1).default(0),
    },
    env,
  );
}

export type LoaderConfig = ReturnType<typeof loadConfig>;
