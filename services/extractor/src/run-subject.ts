import { type ExtractRunReply, subjects } from "@adpipe/shared/contract";
import { AppError, errorBody } from "@adpipe/shared/errors";
import type { Logger } from "@adpipe/shared/logger";
import type { NatsConnection, Subscription } from "nats";
import type { Extractor } from "./extractor.ts";
import { extractRequest, extractResponse, parseRequest } from "./requests.ts";

/**
 * Answers `<ns>.extract.run` exactly as `POST /extract` answers. A queue group makes one of
 * several running extractors answer each request.
 */
export function serveExtractRun({
  nc,
  namespace,
  extractor,
  logger,
}: {
  nc: NatsConnection;
  namespace: string;
  extractor: Pick<Extractor, "extract">;
  logger: Logger;
}): Subscription {
  const encode = (value: ExtractRunReply) => new TextEncoder().encode(JSON.stringify(value));
  return nc.subscribe(subjects(namespace).extractRun, {
    queue: `${namespace}_extractor`,
    callback: (err, msg) => {
      if (err) {
        logger.warn("extract.run subscription failed", { err });
        return;
      }
      (async () => {
        try {
          const { table } = parseRequest(msg.data, extractRequest);
          const { results } = await extractor.extract(table);
          msg.respond(encode(extractResponse(results).body));
        } catch (e) {
          if (!(e instanceof AppError) || e.status >= 500) logger.error("extract.run failed", { err: e });
          const body =
            e instanceof AppError
              ? errorBody(e.code, e.message)
              : errorBody("internal", (e as Error).message);
          msg.respond(encode(body));
        }
      })();
    },
  });
}
