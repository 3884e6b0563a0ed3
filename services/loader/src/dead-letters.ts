import { HEADERS, streams, subjects } from "@adpipe/shared/contract";
import { copyHeaders, DLQ_HEADERS, isDlqHeader, isNotFound } from "@adpipe/shared/dead-letters";
import { AppError } from "@adpipe/shared/errors";
import { type ReplayReply, replayReply, replayRequest, replyError } from "@adpipe/shared/messages/replies";
import {
  ErrorCode,
  type JetStreamClient,
  type JetStreamManager,
  type MsgHdrs,
  type NatsConnection,
  type NatsError,
} from "nats";

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

/** The dead-letter stream: poison batches set aside with their error and listed (the extractor replays them). */
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
      const h = copyHeaders(input.headers, (name) => name === HEADERS.msgId || isDlqHeader(name));
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
  };
}

export type DeadLetters = ReturnType<typeof createDeadLetters>;

/**
 * Asks an extractor to replay dead letter `id` (`<ns>.deadletters.replay`): only the extractor
 * may publish deltas. Its error answers keep their code (404 for an unknown id); no extractor
 * answering is a 503, an extractor failing a 502.
 */
export async function requestReplay(
  nc: NatsConnection,
  namespace: string,
  id: number,
  timeoutMs = 15_000,
): Promise<Extract<ReplayReply, { replayed: unknown }>["replayed"]> {
  const subject = subjects(namespace).deadLettersReplay;
  let data: Uint8Array;
  try {
    data = (await nc.request(subject, replayRequest.encode({ id }), { timeout: timeoutMs })).data;
  } catch (err) {
    const code = (err as NatsError).code;
    if (code === ErrorCode.NoResponders || code === ErrorCode.Timeout)
      throw new AppError(
        "extractor_unavailable",
        code === ErrorCode.Timeout
          ? `no extractor answered the replay request on ${subject} in ${timeoutMs} ms; check GET /dead-letters before retrying`
          : `no extractor answered the replay request on ${subject}: start the extractor and retry`,
        503,
        { cause: err },
      );
    throw err;
  }
  let body: ReplayReply;
  try {
    body = replayReply.decode(data);
  } catch (err) {
    throw new AppError(
      "bad_gateway",
      `the extractor's replay answer is not one: ${(err as Error).message}`,
      502,
    );
  }
  const error = replyError(body);
  if (error) {
    const status = ({ not_found: 404, invalid_request: 400, conflict: 409 } as const)[error.code] ?? 502;
    throw new AppError(error.code, `extractor: ${error.message}`, status);
  }
  return (body as Extract<ReplayReply, { replayed: unknown }>).replayed;
}
