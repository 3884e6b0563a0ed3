import { HEADERS, streams, subjects } from "@adpipe/shared/contract";
import { NotFoundError } from "@adpipe/shared/errors";
import {
  type JetStreamClient,
  type JetStreamManager,
  type MsgHdrs,
  type NatsError,
  headers as natsHeaders,
} from "nats";

/** Headers a dead letter adds to the original ones. */
export const DLQ_HEADERS = {
  error: "Adpipe-Error",
  errorKind: "Adpipe-Error-Kind",
  attempts: "Adpipe-Attempts",
  originalSubject: "Adpipe-Original-Subject",
  originalSequence: "Adpipe-Original-Sequence",
  deadAt: "Adpipe-Dead-At",
} as const;
const ours = new Set<string>(Object.values(DLQ_HEADERS));

export type ErrorKind = "invalid_message" | "rejected_by_clickhouse";

export interface DeadLetterInput {
  subject: string;
  sequence: number;
  headers: MsgHdrs | undefined;
  body: Uint8Array;
  table: string;
  error: string;
  kind: ErrorKind;
  attempts: number;
}

export interface DeadLetter {
  id: number;
  subject: string;
  table: string;
  error: string;
  error_kind: string;
  attempts: number;
  original_subject: string;
  original_sequence: number;
  batch_id: string | null;
  rows: number | null;
  dead_at: string;
  bytes: number;
}

const isNotFound = (err: unknown) => {
  const code = (err as NatsError).api_error?.err_code;
  return code === 10037 || code === 10059; // no message found, stream not found
};

function copyHeaders(from: MsgHdrs | undefined, skip: (name: string) => boolean): MsgHdrs {
  const h = natsHeaders();
  for (const [name, values] of from ?? []) {
    if (skip(name)) continue;
    for (const value of values) h.append(name, value);
  }
  return h;
}

/** The dead-letter stream: poison batches set aside with their error, listed and replayed on demand. */
export function createDeadLetters({
  js,
  jsm,
  namespace,
}: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  namespace: string;
}) {
  const stream = streams(namespace).dlq;

  function toDeadLetter(seq: number, subject: string, h: MsgHdrs | undefined, bytes: number): DeadLetter {
    const get = (name: string) => h?.get(name) ?? "";
    const rows = get(HEADERS.rows);
    return {
      id: seq,
      subject,
      table: subject.split(".").at(-1) ?? "",
      error: get(DLQ_HEADERS.error),
      error_kind: get(DLQ_HEADERS.errorKind),
      attempts: Number(get(DLQ_HEADERS.attempts)),
      original_subject: get(DLQ_HEADERS.originalSubject),
      original_sequence: Number(get(DLQ_HEADERS.originalSequence)),
      batch_id: get(HEADERS.batchId) || null,
      rows: rows === "" ? null : Number(rows),
      dead_at: get(DLQ_HEADERS.deadAt),
      bytes,
    };
  }

  return {
    /** Stores the batch in `<ns>.dlq.<table>`, de-duplicated by its original stream sequence. */
    async put(input: DeadLetterInput): Promise<void> {
      const h = copyHeaders(input.headers, (name) => name === HEADERS.msgId || ours.has(name));
      h.set(DLQ_HEADERS.error, input.error.slice(0, 2000).replaceAll(/[\r\n]+/g, " "));
      h.set(DLQ_HEADERS.errorKind, input.kind);
      h.set(DLQ_HEADERS.attempts, String(input.attempts));
      h.set(DLQ_HEADERS.originalSubject, input.subject);
      h.set(DLQ_HEADERS.originalSequence, String(input.sequence));
      h.set(DLQ_HEADERS.deadAt, new Date().toISOString());
      const table = /^[A-Za-z0-9_-]+$/.test(input.table) ? input.table : "unknown";
      await js.publish(subjects(namespace).dlq(table), input.body, {
        headers: h,
        msgID: `dlq-${input.subject}-${input.sequence}`,
      });
    },

    async list(limit = 100): Promise<{ total: number; dead_letters: DeadLetter[] }> {
      let info: Awaited<ReturnType<typeof jsm.streams.info>>;
      try {
        info = await jsm.streams.info(stream);
      } catch (err) {
        if (isNotFound(err)) return { total: 0, dead_letters: [] };
        throw err;
      }
      const out: DeadLetter[] = [];
      // An empty stream reports first_seq 0, and asking for message 0 is a bad request.
      if (info.state.messages === 0) return { total: 0, dead_letters: out };
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && out.length < limit; seq++) {
        try {
          const m = await jsm.streams.getMessage(stream, { seq });
          out.push(toDeadLetter(m.seq, m.subject, m.header, m.data.length));
        } catch (err) {
          if (!isNotFound(err)) throw err; // a gap: that one was replayed
        }
      }
      return { total: info.state.messages, dead_letters: out };
    },

    /**
     * Publishes the original batch again on its original subject with a new message id (so
     * JetStream does not drop it as a duplicate) and removes it from the dead-letter stream.
     */
    async replay(id: number): Promise<{ id: number; subject: string; sequence: number }> {
      let m: Awaited<ReturnType<typeof jsm.streams.getMessage>>;
      try {
        m = await jsm.streams.getMessage(stream, { seq: id });
      } catch (err) {
        if (isNotFound(err)) throw new NotFoundError(`dead letter ${id} not found`);
        throw err;
      }
      const subject = m.header?.get(DLQ_HEADERS.originalSubject) ?? "";
      if (!subject) throw new NotFoundError(`dead letter ${id} has no original subject`);
      const h = copyHeaders(m.header, (name) => ours.has(name));
      const msgID = `${m.header?.get(HEADERS.batchId) ?? "batch"}-replay-${id}-${Date.now()}`;
      const ack = await js.publish(subject, m.data, { headers: h, msgID });
      await jsm.streams.deleteMessage(stream, id);
      return { id, subject, sequence: ack.seq };
    },
  };
}

export type DeadLetters = ReturnType<typeof createDeadLetters>;
