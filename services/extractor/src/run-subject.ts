import { type ExtractRunReply, subjects } from "@adpipe/shared/contract";
import type { Logger } from "@adpipe/shared/logger";
import { serveRequests } from "@adpipe/shared/nats-requests";
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
  return serveRequests({
    nc,
    subject: subjects(namespace).extractRun,
    queue: `${namespace}_extractor`,
    what: "extract.run",
    logger,
    handle: async (data): Promise<ExtractRunReply> => {
      const { table } = parseRequest(data, extractRequest);
      const { results } = await extractor.extract(table);
      return extractResponse(results).body;
    },
  });
}
