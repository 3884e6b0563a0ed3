import type { Logger } from "@adpipe/shared/logger";
import pg from "pg";

/** The channel migration 0007's statement triggers notify on commit; the payload is the table. */
export const CHANGES_CHANNEL = "adpipe_changes";

export interface ChangeListenerOptions {
  connectionString: string;
  logger: Logger;
  /** A change committed (table name), or the listener (re)connected (undefined: look at everything). */
  onChange(table: string | undefined): void;
  /** Longest pause between reconnection attempts. */
  maxBackoffMs?: number;
  applicationName?: string;
}

/**
 * Listens on `adpipe_changes` on a session of its own and reports every notification. A dropped
 * session is reconnected with backoff, and each (re)connection reports once, since notifications
 * sent while nobody listened are gone; the extractor's timer stays the fallback either way.
 */
export function startChangeListener(o: ChangeListenerOptions) {
  let client: pg.Client | undefined;
  let stopped = false;
  let attempts = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let connected = false;
  const stats = { notifications: 0, reconnects: 0 };

  const retry = () => {
    if (stopped || timer) return;
    const wait = Math.min(o.maxBackoffMs ?? 30_000, 250 * 2 ** Math.min(attempts++, 10));
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, wait);
  };

  const lost = (err?: Error) => {
    if (stopped) return;
    if (connected)
      o.logger.warn("change listener lost its PostgreSQL session; reconnecting (polling continues)", {
        err: err?.message,
      });
    connected = false;
    client?.removeAllListeners();
    client?.on("error", () => {});
    client?.end().catch(() => {});
    client = undefined;
    retry();
  };

  async function connect(): Promise<void> {
    if (stopped) return;
    const c = new pg.Client({
      connectionString: o.connectionString,
      application_name: o.applicationName ?? "adpipe-extractor-listen",
    });
    client = c;
    c.on("error", lost);
    c.on("end", () => lost());
    c.on("notification", (msg) => {
      stats.notifications++;
      o.onChange(msg.payload || undefined);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (err) {
      if (attempts === 0)
        o.logger.warn("change listener cannot reach PostgreSQL; retrying (polling continues)", {
          err: err instanceof Error ? err.message : String(err),
        });
      if (client === c) lost(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (stopped) {
      await c.end().catch(() => {});
      return;
    }
    if (attempts > 0) {
      stats.reconnects++;
      o.logger.info("change listener connected again");
    }
    attempts = 0;
    connected = true;
    o.onChange(undefined);
  }

  void connect();

  return {
    stats,
    /** Whether the session is listening now. */
    listening: () => connected,
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      const c = client;
      client = undefined;
      connected = false;
      c?.removeAllListeners();
      c?.on("error", () => {});
      await c?.end().catch(() => {});
    },
  };
}

export type ChangeListener = ReturnType<typeof startChangeListener>;
