import { type ExtractRunReply, subjects } from "@adpipe/shared/contract";
import type { Logger } from "@adpipe/shared/logger";
import { serveRequests } from "@adpipe/shared/nats-requests";
import type { NatsConnection, Subscription } from "nats";
import type { Extractor } from "./extractor.ts";
import { extractRequest, extractResponse, parseRequest, tableRequest } from "./requests.ts";

/**
 * Answers `<ns>.extract.pause` and `<ns>.extract.resume` as `POST /pause` and `POST /resume`
 * answer (`{"watermark": ...}`). NATS's permissions guard them as the API token guards HTTP: only
 * a user allowed to publish there (operators' `admin`) can ask.
 */
export function servePauseRequests({
  nc,
  namespace,
  extractor,
  logger,
}: {
  nc: NatsConnection;
  namespace: string;
  extractor: Pick<Extractor, "pause" | "resume">;
  logger: Logger;
}): Subscription[] {
  const s = subjects(namespace);
  return [
    [s.extractPause, "extract.pause", extractor.pause],
    [s.extractResume, "extract.resume", extractor.resume],
  ].map(([subject, what, act]) =>
    serveRequests({
      nc,
      subject: subject as string,
      queue: `${namespace}_extractor`,
      what: what as string,
      logger,
      handle: async (data) => {
        const { table } = parseRequest(data, tableRequest);
        return { watermark: await (act as Extractor["pause"])(table) };
      },
    }),
  );
}

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
