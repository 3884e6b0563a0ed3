import type { ConsumerMessages, JsMsg, MsgHdrs } from "nats";

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

/** The deliveries of a fake pull: what `deliver` is given comes out of `messages` in order. */
export function fakeDeliveries() {
  const pending: JsMsg[] = [];
  let stopped = false;
  let wake = () => {};
  const messages = {
    async *[Symbol.asyncIterator]() {
      while (true) {
        const next = pending.shift();
        if (next) yield next;
        else if (stopped) return;
        else await new Promise<void>((r) => (wake = r));
      }
    },
    stop() {
      stopped = true;
      wake();
    },
  };
  return {
    messages: messages as unknown as ConsumerMessages,
    deliver(...msgs: JsMsg[]) {
      pending.push(...msgs);
      wake();
    },
  };
}
