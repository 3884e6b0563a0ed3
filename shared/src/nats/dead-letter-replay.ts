import type { JetStreamClient, JetStreamManager, NatsConnection, Subscription } from "nats";
import type { Logger } from "../config/logger.ts";
import { HEADERS, streams, subjects } from "../contract.ts";
import { ConflictError, NotFoundError } from "../http/errors.ts";
import { type ReplayReply, replayRequest } from "../messages/replies.ts";
import { copyHeaders, DLQ_HEADERS, isDlqHeader, isNotFound } from "./dead-letters.ts";
import { serveRequests } from "./nats-requests.ts";

/**
 * Publishes a dead letter's original batch again on its original delta subject with a new
 * message id (so JetStream does not drop it as a duplicate) and removes it from the dead-letter
 * stream. Only the extractor writes deltas (its NATS user may publish on `<ns>.delta.>`), so it
 * serves these requests; the code lives here beside the dead letters' other helpers.
 */
export async function replayDeadLetter(
  { js, jsm, namespace }: { js: JetStreamClient; jsm: JetStreamManager; namespace: string },
  id: number,
): Promise<Extract<ReplayReply, { replayed: unknown }>["replayed"]> {
  const stream = streams(namespace).dlq;
  let m: Awaited<ReturnType<typeof jsm.streams.getMessage>>;
  try {
    m = await jsm.streams.getMessage(stream, { seq: id });
  } catch (err) {
    if (isNotFound(err)) throw new NotFoundError(`dead letter ${id} not found`);
    throw err;
  }
  const subject = m.header?.get(DLQ_HEADERS.originalSubject) ?? "";
  if (!subject) throw new NotFoundError(`dead letter ${id} has no original subject`);
  if (!subject.startsWith(`${namespace}.delta.`))
    throw new ConflictError(`dead letter ${id}: original subject ${subject} is not a delta subject`);
  const h = copyHeaders(m.header, isDlqHeader);
  const msgID = `${m.header?.get(HEADERS.batchId) ?? "batch"}-replay-${id}-${Date.now()}`;
  const ack = await js.publish(subject, m.data, { headers: h, msgID });
  await jsm.streams.deleteMessage(stream, id);
  return { id, subject, sequence: ack.seq };
}

/**
 * Answers `<ns>.deadletters.replay` requests (`{"id": 42}`, sent by the loader's
 * `POST /dead-letters/:id/replay`) with `{replayed: {id, subject, sequence}}` or
 * `{error: {code, message}}`. A queue group makes one of several extractors answer.
 */
export function serveDeadLetterReplay({
  nc,
  namespace,
  logger,
}: {
  nc: NatsConnection;
  namespace: string;
  logger: Logger;
}): Subscription {
  const js = nc.jetstream();
  let jsm: Promise<JetStreamManager> | undefined;
  return serveRequests({
    nc,
    subject: subjects(namespace).deadLettersReplay,
    queue: `${namespace}_extractor`,
    what: "dead-letter replay",
    logger,
    handle: async (data): Promise<ReplayReply> => {
      const { id } = replayRequest.decode(data);
      jsm ??= nc.jetstreamManager();
      const replayed = await replayDeadLetter({ js, jsm: await jsm, namespace }, id);
      logger.info("dead letter replayed", replayed);
      return { replayed };
    },
  });
}
