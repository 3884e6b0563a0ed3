// Riding out a JetStream leader election. When the server leading a stream or a consumer dies, its
// Raft group elects a new leader on another server within a few seconds (4-9 s with nats-server
// 2.9's election timeouts, measured in e2e/cluster-failover.e2e.test.ts). Meanwhile a publish or
// an ack either finds nobody listening (503, answered at once) or was sent to the dying server and
// is never answered (a timeout). Both are safe to send again: a publish carries a Nats-Msg-Id the
// stream deduplicates, and an ack of a delivery already acknowledged changes nothing. Sending them
// again every few hundred milliseconds lets work continue the moment a leader exists, instead of
// failing the whole step and waiting out a growing backoff or a consumer's ack wait.
import type { JetStreamClient, JetStreamPublishOptions, JsMsg, Msg, NatsConnection, PubAck } from "nats";

/** The failures of a request no server answered: nobody to answer (503), no answer in time, a broken connection. */
export function isElectionGap(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return code === "503" || code === "TIMEOUT" || code === "DISCONNECT" || code === "CONNECTION_TIMEOUT";
}

export interface RetryTiming {
  /** How long one attempt waits for its answer. */
  attemptMs: number;
  /** How long attempts go on before the last error is thrown. */
  forMs: number;
  /** Pause between attempts. */
  retryMs?: number;
  /** Checked before each new attempt: stop retrying (shutting down). */
  stopping?: () => boolean;
}

/**
 * The timing every service uses through an election: an attempt waits 2 s for its answer (a
 * request sent to a server as it died is never answered), the next one follows 250 ms later, and
 * attempts go on for 20 s, which covers one election (4-9 s) and a client's move to another server
 * (at most about 6 s when a server freezes, NATS_CONNECTION_TIMING in nats.ts).
 */
export const ELECTION_RETRY: RetryTiming = { attemptMs: 2000, forMs: 20_000, retryMs: 250 };

/** `attempt` until it succeeds, a failure that is not an election gap, or `forMs` ran out. */
export async function retryThroughElection<T>(
  attempt: (timeoutMs: number) => Promise<T>,
  t: RetryTiming,
): Promise<T> {
  const deadline = Date.now() + t.forMs;
  for (;;) {
    try {
      return await attempt(Math.max(1, Math.min(t.attemptMs, deadline - Date.now())));
    } catch (err) {
      if (!isElectionGap(err) || Date.now() + (t.retryMs ?? 250) >= deadline || t.stopping?.()) throw err;
      await Bun.sleep(t.retryMs ?? 250);
    }
  }
}

/**
 * A JetStream publish sent again (same `msgID`, so stored once) while the stream has no leader.
 * Without a `msgID` a repeat could store the message twice: then only one attempt is made.
 */
export function publishThroughElection(
  js: JetStreamClient,
  subject: string,
  data: Uint8Array | string,
  options: Partial<JetStreamPublishOptions>,
  t: RetryTiming,
): Promise<PubAck> {
  const once = (timeout: number) => js.publish(subject, data, { ...options, timeout });
  return options.msgID ? retryThroughElection(once, t) : once(t.attemptMs);
}

const ACK = new TextEncoder().encode("+ACK");

/**
 * Acknowledges a delivery and waits for JetStream to confirm it, sending the ack again while the
 * consumer has no leader. nats.js's `ackAck()` sends once (a second call is a no-op), so repeats
 * go out as plain requests to the delivery's reply subject, which is all an ack is. Resolves
 * false when no attempt was confirmed within `forMs`: the delivery then comes back after the
 * consumer's ack wait and is processed again, which every consumer here tolerates.
 */
export async function ackThroughElection(
  msg: JsMsg,
  nc: Pick<NatsConnection, "request">,
  t: RetryTiming,
): Promise<boolean> {
  let first = true;
  try {
    await retryThroughElection(async (timeout): Promise<Msg | boolean> => {
      // The delivery's reply subject (JsMsgImpl.reply; the JsMsg interface does not show it).
      if (!first) return nc.request((msg as unknown as { reply: string }).reply, ACK, { timeout });
      first = false;
      return msg.ackAck({ timeout });
    }, t);
    return true;
  } catch {
    return false;
  }
}
