import type { NatsConnection, Subscription } from "nats";
import type { Logger } from "../config/logger.ts";
import { AppError, errorBody } from "../http/errors.ts";

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** The reply to a request that failed: an AppError's code and message, anything else `internal`. */
export function failureReply(err: unknown) {
  return err instanceof AppError
    ? errorBody(err.code, err.message)
    : errorBody("internal", err instanceof Error ? err.message : String(err));
}

/**
 * Answers the NATS requests on `subject` in queue group `queue` (one of several running
 * instances answers each): `handle` gets the request body and returns the reply, sent as JSON.
 * A request that fails is answered with `failure(err)` (default: `failureReply`, logged as an
 * error unless it is the requester's fault, an AppError below 500), never left unanswered.
 */
export function serveRequests({
  nc,
  subject,
  queue,
  what,
  logger,
  handle,
  failure,
}: {
  nc: NatsConnection;
  subject: string;
  queue: string;
  /** Names the requests in log lines, e.g. `extract.run`. */
  what: string;
  logger: Logger;
  handle(data: Uint8Array): Promise<unknown>;
  failure?(err: unknown): unknown;
}): Subscription {
  return nc.subscribe(subject, {
    queue,
    callback: (err, msg) => {
      if (err) {
        logger.warn(`${what} subscription failed`, { err });
        return;
      }
      (async () => {
        try {
          msg.respond(encode(await handle(msg.data)));
        } catch (e) {
          if (failure) {
            msg.respond(encode(failure(e)));
            return;
          }
          if (!(e instanceof AppError) || e.status >= 500) logger.error(`${what} failed`, { err: e });
          msg.respond(encode(failureReply(e)));
        }
      })();
    },
  });
}
