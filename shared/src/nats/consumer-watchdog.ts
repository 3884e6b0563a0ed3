/** What the server says of a durable consumer, as far as a stall is concerned. */
export interface ServerBacklog {
  /** Messages not yet delivered to anyone. */
  pending: number;
  /** True when the server may not deliver more (unacknowledged deliveries at max_ack_pending). */
  blocked: boolean;
}

/** The watchdog's settings and reports, given by the service that owns the consumer. */
export interface StallWatch {
  /** Nothing delivered for this long while pulling, with deliveries pending on the server: a stall. */
  afterMs: number;
  backlog(): Promise<ServerBacklog>;
  /** A stall found: the pull is being recreated. */
  onStall?(info: { idleMs: number; pending: number; recoveries: number }): void;
  /** Deliveries arrive again after a stall. */
  onRecovered?(info: { stalledMs: number }): void;
}

export interface ConsumerHealth {
  /** Since when (epoch ms) the consumer is stalled; undefined while it is not. */
  stalledSince?: number;
  /** Pulls recreated because of a stall, since start. */
  recoveries: number;
  /** Since when pulls keep failing, and the last error; undefined after a pull worked. */
  failingSince?: number;
  lastError?: string;
  /** When the last delivery arrived (epoch ms). */
  lastDeliveryAt?: number;
}

/** The inputs of one check: when the reader last got (or started to want) a delivery, the backlog. */
export interface StallInputs {
  now: number;
  /** Since when the reader has wanted deliveries without getting one; undefined while it holds back. */
  waitingSince: number | undefined;
  afterMs: number;
}

/** Whether a check must ask the server: only once the reader has waited `afterMs` in vain. */
export const mayBeStalled = (s: StallInputs) =>
  s.waitingSince !== undefined && s.now - s.waitingSince >= s.afterMs;

/** A stall: the reader waited in vain while the server holds deliveries it is free to send. */
export const isStalled = (s: StallInputs, backlog: ServerBacklog) =>
  mayBeStalled(s) && backlog.pending > 0 && !backlog.blocked;

/**
 * The watchdog of one pulling reader. The reader tells it about deliveries, back-pressure and
 * failed pulls; a timer checks, and when the reader has waited `afterMs` for nothing while the
 * server holds undelivered messages it may send, the watchdog has the pull recreated, reports it,
 * and keeps the consumer marked stalled until a delivery arrives.
 */
export function createStallWatch(o: StallWatch, reader: { recreate(): void }) {
  let waitingSince: number | undefined = Date.now();
  let stalledSince: number | undefined;
  let recoveries = 0;
  let failingSince: number | undefined;
  let lastError: string | undefined;
  let lastDeliveryAt: number | undefined;
  let checking = false;
  let timer: ReturnType<typeof setInterval> | undefined;

  async function check(): Promise<void> {
    const inputs = { now: Date.now(), waitingSince, afterMs: o.afterMs };
    if (checking || !mayBeStalled(inputs)) return;
    checking = true;
    try {
      const backlog = await o.backlog();
      if (!isStalled({ ...inputs, now: Date.now(), waitingSince }, backlog)) {
        // Nothing to deliver, or not ours to get: look again after another period.
        if (waitingSince !== undefined) waitingSince = Date.now();
        return;
      }
      stalledSince ??= inputs.now;
      recoveries++;
      o.onStall?.({
        idleMs: inputs.now - (waitingSince ?? inputs.now),
        pending: backlog.pending,
        recoveries,
      });
      waitingSince = Date.now();
      reader.recreate();
    } catch {
      // The server cannot be asked (NATS down): the services' NATS check reports that.
    } finally {
      checking = false;
    }
  }

  return {
    start(): void {
      waitingSince = Date.now();
      timer = setInterval(() => void check(), Math.max(50, Math.min(1000, Math.floor(o.afterMs / 4))));
    },
    stop(): void {
      clearInterval(timer);
    },
    delivered(): void {
      const now = Date.now();
      lastDeliveryAt = now;
      waitingSince = now;
      failingSince = undefined;
      lastError = undefined;
      if (stalledSince !== undefined) {
        o.onRecovered?.({ stalledMs: now - stalledSince });
        stalledSince = undefined;
      }
    },
    /** Back-pressure: while the reader holds back on purpose it is not waiting for deliveries. */
    holding(on: boolean): void {
      waitingSince = on ? undefined : Date.now();
    },
    pullFailed(err: unknown): void {
      failingSince ??= Date.now();
      lastError = err instanceof Error ? err.message : String(err);
    },
    health(): ConsumerHealth {
      return { stalledSince, recoveries, failingSince, lastError, lastDeliveryAt };
    },
    /** One check now (tests). */
    check,
  };
}
