// Which reporter of a namespace is active: a lease in the NATS KV bucket `<ns>_reporter_lease`
// (key `active`). The active reporter renews it every third of REPORTER_LEASE_TTL_MS with a
// compare-and-set on the revision it wrote; a standby polls it and takes it over (compare-and-set
// on the revision it saw) once that revision stayed unchanged for a whole TTL on its own clock, or
// at once when the key is absent or deleted (a clean stop releases it).
//
// Safety without synchronised clocks: the active reporter counts its lease from the moment it
// *sent* its last successful renewal, and gives up starting rebuilds two thirds of a TTL after it;
// a standby counts from the moment it *received* the revision, which is later. So the old active
// one stops starting rebuilds at least a third of a TTL before another one can start (see
// docs/reporter.md#running-several-reporters for why that keeps the reports exact).
import type { Logger } from "@adpipe/shared/logger";
import type { KV, KvEntry, NatsError } from "nats";

export const LEASE_KEY = "active";

export type Role = "active" | "standby";

export interface LeaseHolder {
  instance: string;
  /** Random per process: the same instance id from an earlier life of a process is told apart. */
  nonce: string;
  at: string;
}

/**
 * How a lease was taken: `free` (none yet), `own` (this instance's earlier life), `released` (a
 * clean stop), `expired` (its holder went silent: SIGKILL, a partition, a hang).
 */
export type TakenFrom = "free" | "own" | "released" | "expired";

/** What a standby does with the entry it just read. */
export type StandbyDecision =
  | { take: true; revision: number; reason: string; from: TakenFrom }
  | { take: false; holder: string };

/**
 * Pure: whether a standby takes the lease. `seen` is the revision it saw before and when it first
 * saw it (its own clock); absent, deleted or purged: free; held by the same instance id under
 * another nonce: a previous life of this process (SIGKILLed and restarted), taken at once.
 */
export function decideStandby(
  entry: Pick<KvEntry, "revision" | "operation"> | null,
  holder: LeaseHolder | null,
  self: Pick<LeaseHolder, "instance" | "nonce">,
  seen: { revision: number; at: number } | undefined,
  now: number,
  ttlMs: number,
): StandbyDecision {
  if (!entry) return { take: true, revision: 0, reason: "no lease yet", from: "free" };
  if (entry.operation !== "PUT" || !holder)
    return { take: true, revision: entry.revision, reason: "lease released", from: "released" };
  if (holder.instance === self.instance && holder.nonce !== self.nonce)
    return {
      take: true,
      revision: entry.revision,
      reason: "lease of an earlier life of this instance",
      from: "own",
    };
  if (seen && seen.revision === entry.revision && now - seen.at >= ttlMs)
    return {
      take: true,
      revision: entry.revision,
      reason: `lease of ${holder.instance} expired`,
      from: "expired",
    };
  return { take: false, holder: holder.instance };
}

/** Pure: the active reporter may start a rebuild until two thirds of a TTL after its last renewal was sent. */
export const activeUntil = (renewSentAt: number, ttlMs: number) => renewSentAt + Math.floor((ttlMs * 2) / 3);

export interface LeaseOptions {
  kv: KV;
  instance: string;
  ttlMs: number;
  logger: Logger;
  /** Became active: start consuming (awaited before the next change of role). */
  onActive(from: TakenFrom): Promise<void>;
  /** No longer active (lost, expired or released): stop consuming. */
  onStandby(reason: string): Promise<void>;
  now?: () => number;
}

function parseHolder(entry: KvEntry | null): LeaseHolder | null {
  if (entry?.operation !== "PUT") return null;
  try {
    const v = JSON.parse(new TextDecoder().decode(entry.value)) as Partial<LeaseHolder>;
    return typeof v.instance === "string" && typeof v.nonce === "string" ? (v as LeaseHolder) : null;
  } catch {
    return null;
  }
}

/** JetStream's "wrong last sequence" (10071): the key moved on since the revision we named. */
const casFailed = (err: unknown) =>
  (err as NatsError)?.api_error?.err_code === 10071 || /wrong last sequence/i.test(String(err));

export function createLease(o: LeaseOptions) {
  const now = o.now ?? Date.now;
  const nonce = crypto.randomUUID();
  const self = { instance: o.instance, nonce };
  const renewEveryMs = Math.max(100, Math.floor(o.ttlMs / 3));
  // Polled often whatever the TTL: a released lease is taken within a poll.
  const pollMs = Math.max(50, Math.min(500, Math.floor(o.ttlMs / 6)));
  let role: Role = "standby";
  let revision = 0;
  let renewSentAt = 0;
  let seen: { revision: number; at: number } | undefined;
  let holder: string | null = null;
  let since: string | null = null;
  let takeovers = 0;
  let inFlight = false;
  let cooldownUntil = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  // Role changes run one at a time, in order (start consuming, stop consuming).
  let transitions: Promise<unknown> = Promise.resolve();
  const enc = new TextEncoder();
  const value = () => enc.encode(JSON.stringify({ ...self, at: new Date(now()).toISOString() }));

  function become(next: Role, reason: string, from: TakenFrom = "free"): void {
    if (role === next) return;
    role = next;
    since = new Date(now()).toISOString();
    if (next === "active") {
      takeovers++;
      holder = o.instance;
      o.logger.info("reporter lease taken: this reporter is active", { instance: o.instance, reason });
    } else o.logger.warn("reporter lease lost: this reporter is standby", { instance: o.instance, reason });
    transitions = transitions
      .then(() => (next === "active" ? o.onActive(from) : o.onStandby(reason)))
      .catch((err) => {
        o.logger.error("reporter role change failed", { role: next, err });
        if (next === "active") giveUp();
      });
  }

  /**
   * Activation failed (ClickHouse unreachable at that moment): a lease held by a reporter that does
   * not consume would stall the reports for good. Hand it back, and take none for a TTL, so another
   * reporter (or this one, later) tries.
   */
  function giveUp(): void {
    if (role !== "active") return;
    become("standby", "activation failed");
    cooldownUntil = now() + o.ttlMs;
    const rev = revision;
    void o.kv.delete(LEASE_KEY, { previousSeq: rev }).catch(() => {});
  }

  async function take(reason: string, from: TakenFrom, rev: number): Promise<boolean> {
    const sentAt = now();
    try {
      revision =
        rev === 0 ? await o.kv.create(LEASE_KEY, value()) : await o.kv.update(LEASE_KEY, value(), rev);
    } catch {
      return false; // another reporter was faster, or NATS is away: read again next poll
    }
    renewSentAt = sentAt;
    seen = undefined;
    become("active", reason, from);
    return true;
  }

  async function standbyTick(): Promise<void> {
    const entry = await o.kv.get(LEASE_KEY);
    const at = now();
    const h = parseHolder(entry);
    const d = decideStandby(entry, h, self, seen, at, o.ttlMs);
    if (d.take && at >= cooldownUntil) {
      await take(d.reason, d.from, d.revision);
      return;
    }
    if (d.take) return;
    holder = d.holder;
    if (entry && seen?.revision !== entry.revision) seen = { revision: entry.revision, at };
  }

  async function activeTick(): Promise<void> {
    if (now() - renewSentAt < renewEveryMs) return;
    const sentAt = now();
    try {
      revision = await o.kv.update(LEASE_KEY, value(), revision);
      renewSentAt = sentAt;
    } catch (err) {
      // Another reporter holds a newer revision: lost at once. Otherwise (NATS away) keep trying
      // until the lease runs out below.
      if (!casFailed(err)) return;
      become("standby", "another reporter took the lease");
      const taker = parseHolder(await o.kv.get(LEASE_KEY).catch(() => null));
      if (taker?.instance === o.instance && taker.nonce !== nonce)
        o.logger.error("another live reporter uses this REPORTER_INSTANCE_ID: give each reporter its own", {
          instance: o.instance,
        });
    }
  }

  async function tick(): Promise<void> {
    if (role === "active" && now() >= activeUntil(renewSentAt, o.ttlMs))
      become("standby", "lease not renewed in time (NATS unreachable?)");
    if (inFlight) return; // a slow NATS call never delays the expiry check above
    inFlight = true;
    try {
      await (role === "active" ? activeTick() : standbyTick());
    } catch (err) {
      o.logger.debug("reporter lease check failed; retried", { err });
    } finally {
      inFlight = false;
    }
  }

  return {
    /**
     * Reads the lease once, then checks it every poll. When it took the lease at once (a single
     * reporter, or the first of several), resolves after activating, as a reporter without a lease
     * starts; renewals run meanwhile (a start-up full rebuild can take minutes).
     */
    async start(): Promise<void> {
      await tick();
      timer = setInterval(() => void tick(), pollMs);
      await transitions;
    },
    /** True while this reporter may start a rebuild. */
    active: () => role === "active" && now() < activeUntil(renewSentAt, o.ttlMs),
    /** Stops checking; an active reporter deletes its lease so a standby takes over at once. */
    async stop(): Promise<void> {
      clearInterval(timer);
      const was = role;
      become("standby", "stopping");
      await transitions;
      if (was === "active")
        await o.kv.delete(LEASE_KEY, { previousSeq: revision }).catch((err) => {
          o.logger.warn("could not release the reporter lease; a standby takes it after the TTL", { err });
        });
    },
    /** Waits for the role changes under way (tests). */
    settled: () => transitions,
    status: () => ({
      role,
      instance: o.instance,
      holder: role === "active" ? o.instance : holder,
      since,
      takeovers,
      ttl_ms: o.ttlMs,
    }),
  };
}

export type Lease = ReturnType<typeof createLease>;
