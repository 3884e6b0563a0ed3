import type {
  Consumer,
  ConsumerMessages,
  JetStreamClient,
  JetStreamManager,
  JsMsg,
  NatsConnection,
} from "nats";
import type { Logger } from "../config/logger.ts";
import type { StallWatch } from "./consumer-watchdog.ts";
import { serverBacklog } from "./nats-consumers.ts";
import { ackThroughElection, ELECTION_RETRY, type RetryTiming } from "./nats-retry.ts";

/**
 * One pull request's deliveries: iterate them; the iteration ends when the request is done (its
 * message count or bytes are used up, or it expired) or after `stop()`.
 */
export interface Deliveries extends AsyncIterable<JsMsg> {
  stop(): void;
}

export interface PullRequest {
  /** The request's byte budget (JetStream counts subject, reply, headers and body). */
  maxBytes: number;
  /** The server ends the request after this long if it is not used up before. */
  expiresMs: number;
}

/**
 * nats.js asks for this many messages when a pull names only a byte budget
 * (`PullConsumerMessagesImpl.parseOptions` in nats 2.29).
 */
export const FETCH_BATCH = 100;

/** What JetStream counts against a pull's byte budget for one delivery (server `consumer.go`). */
export function deliveredBytes(msg: JsMsg): number {
  const inner = (msg as unknown as { msg?: { size?: () => number } }).msg;
  if (typeof inner?.size === "function") return inner.size();
  return msg.subject.length + msg.data.length;
}

/**
 * One bounded pull (`consumer.fetch`), ended as soon as the server ended it.
 *
 * Why not `consumer.consume({ max_bytes })`: nats.js 2.29 keeps the byte budget of every request
 * the server completes by message count as "still pending", so under steady traffic of small
 * deltas its re-pull budget shrinks request by request; once it is below the next message's size
 * JetStream answers every pull with 409 (Message Size Exceeds MaxBytes), the client re-pulls the
 * same budget at once, and the consumer receives nothing again while it looks busy (tested in
 * nats-pull.integration.test.ts). A fetch is one request whose budget is computed afresh each
 * time, so nothing carries over. nats.js's own fetch iterator also waits for the request's expiry
 * when the server completed it by count with bytes left; counting here ends it at once.
 */
export async function fetchDeliveries(consumer: Consumer, request: PullRequest): Promise<Deliveries> {
  const messages: ConsumerMessages = await consumer.fetch({
    max_bytes: request.maxBytes,
    expires: request.expiresMs,
  });
  return {
    stop: () => messages.stop(),
    async *[Symbol.asyncIterator]() {
      let count = 0;
      let bytesLeft = request.maxBytes;
      try {
        for await (const msg of messages) {
          count++;
          bytesLeft -= deliveredBytes(msg);
          yield msg;
          // The server ends a request that delivered its count, or whose budget hit exactly zero.
          if (count >= FETCH_BATCH || bytesLeft <= 0) return;
        }
      } finally {
        // Also when the reader leaves early: the subscription goes now, not at the expiry.
        messages.stop();
      }
    },
  };
}

/** One pull request; `fresh` asks for a new consumer handle (after a failure or a stall). */
export type PullFn = (request: PullRequest & { fresh: boolean }) => Promise<Deliveries>;

/** Pulls of one durable consumer; the handle is looked up again when the reader asks for a fresh one. */
export function durablePull(js: JetStreamClient, stream: string, durable: string): PullFn {
  let handle: Consumer | undefined;
  return async ({ fresh, ...request }) => {
    if (fresh || !handle) handle = await js.consumers.get(stream, durable);
    return fetchDeliveries(handle, request);
  };
}

/**
 * The acknowledgement of a durable consumer's deliveries: confirmed by the server, and sent again
 * while the consumer's Raft group elects a new leader (shared/src/nats/nats-retry.ts), for up to
 * `ELECTION_RETRY.forMs`. An ack lost in an election used to wait out the ack wait before the
 * delivery came back to be handled a second time.
 */
export function durableAck(js: JetStreamClient, timing: RetryTiming = ELECTION_RETRY) {
  // nats.js keeps the connection on its JetStream client (BaseApiClient.nc); the typed interface
  // does not show it, and an ack is a request on that connection.
  const nc = (js as unknown as { nc: NatsConnection }).nc;
  return (msg: JsMsg, stopping: () => boolean) => ackThroughElection(msg, nc, { ...timing, stopping });
}

/** Room in a pull for the largest message the server takes, plus its subject, reply and headers. */
export const largestDelivery = (maxPayload: number | undefined) => (maxPayload ?? 1 << 20) + 16 * 1024;

/**
 * The stall watchdog of one durable consumer (shared/src/nats/consumer-watchdog.ts), logging each
 * recovery with the consumer's name; `onStall` counts it.
 */
export function durableStallWatch(o: {
  jsm: JetStreamManager;
  stream: string;
  durable: string;
  afterMs: number;
  logger: Logger;
  onStall?: () => void;
}): StallWatch {
  return {
    afterMs: o.afterMs,
    backlog: () => serverBacklog(o.jsm, o.stream, o.durable),
    onStall(info) {
      o.onStall?.();
      o.logger.warn("consumer stalled: nothing delivered while messages wait for it; recreating its pull", {
        consumer: o.durable,
        ...info,
      });
    },
    onRecovered: (info) => o.logger.info("consumer receiving again", { consumer: o.durable, ...info }),
  };
}
