import type { JsMsg, MsgHdrs } from "nats";
import type { Deliveries } from "./nats-pull.ts";

/** A delivery for unit tests of consumer loops: records how it was settled, needs no server. */
export type FakeMsg = JsMsg & { outcomes: string[]; workings: number };

export function fakeMsg(
  body: string | Uint8Array,
  {
    seq = 1,
    deliveryCount = 1,
    subject = "fake.subject",
    headers,
  }: { seq?: number; deliveryCount?: number; subject?: string; headers?: MsgHdrs } = {},
): FakeMsg {
  const data = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const msg = {
    data,
    seq,
    subject,
    headers,
    info: { deliveryCount, timestampNanos: Date.now() * 1e6 },
    outcomes: [] as string[],
    workings: 0,
    ackAck: async () => {
      msg.outcomes.push("ack");
      return true;
    },
    nak: (delayMs?: number) => msg.outcomes.push(`nak ${delayMs}`),
    term: () => msg.outcomes.push("term"),
    working: () => {
      msg.workings++;
    },
    string: () => new TextDecoder().decode(data),
  };
  return msg as unknown as FakeMsg;
}

/**
 * Fake pulls: what `deliver` is given comes out of the pulls in order. Each `pull()` is one
 * request: `stop()` ends that one only, as a pull request ends on the server. `fetch` makes it a
 * stand-in for a nats.js consumer handle.
 */
export function fakeDeliveries() {
  const pending: JsMsg[] = [];
  let wake = () => {};
  let pulls = 0;
  function pull(): Deliveries {
    pulls++;
    let stopped = false;
    return {
      async *[Symbol.asyncIterator]() {
        while (true) {
          if (stopped) return;
          const next = pending.shift();
          if (next) yield next;
          else await new Promise<void>((r) => (wake = r));
        }
      },
      stop() {
        stopped = true;
        wake();
      },
    };
  }
  return {
    pull: async () => pull(),
    /** A consumer handle whose `fetch` is a fake pull. */
    handle: { fetch: async () => pull() },
    deliver(...msgs: JsMsg[]) {
      pending.push(...msgs);
      wake();
    },
    /** Pull requests made so far. */
    pulls: () => pulls,
  };
}
