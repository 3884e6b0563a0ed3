import { subjects } from "@adpipe/shared/contract";
import { AppError } from "@adpipe/shared/errors";
import type { ServiceApp } from "@adpipe/shared/http";
import type { Logger } from "@adpipe/shared/logger";
import { verifyRunRequestSchema } from "@adpipe/shared/messages/verify";
import { failureReply, serveRequests } from "@adpipe/shared/nats-requests";
import type { VerifyStatus } from "@adpipe/shared/verify";
import type { NatsConnection, Subscription } from "nats";
import type { Verifier } from "./verifier.ts";

/** What the routes need: a verifier, or the status saying why there is none. */
export type VerifyHandle = Pick<Verifier, "verify" | "status"> | { disabled: VerifyStatus };

const disabledError = (h: { disabled: VerifyStatus }) =>
  new AppError("verify_disabled", h.disabled.reason ?? "verification is off", 503);

/** `GET /verify` (status) and `POST /verify` (run now, answer when it finished). */
export function addVerifyRoutes(app: ServiceApp, handle: VerifyHandle): void {
  app.api.get(
    "/verify",
    {
      summary: "The verifier: when each table was last verified, drift found, rows repaired",
      tags: ["verify"],
    },
    (c) => c.json("disabled" in handle ? handle.disabled : handle.status()),
  );
  app.api.post(
    "/verify",
    {
      summary: "Verify now (joins a run in progress); answers when it finished",
      description:
        'Body (optional): `{"mode":"full"}` (the default: every id of every table) or `{"mode":"incremental"}` (only the ids changed since each table\'s last verified run).',
      tags: ["verify"],
      body: verifyRunRequestSchema,
      optionalBody: true,
      responses: { 200: "the run's result (the verify.completed payload)", 503: "verification is off" },
    },
    async (c, { body }) => {
      if ("disabled" in handle) throw disabledError(handle);
      return c.json(await handle.verify(body.mode ?? "full"));
    },
  );
}

/** Answers `<ns>.verify.run` as `POST /verify` does; a queue group picks one extractor. */
export function serveVerifyRun({
  nc,
  namespace,
  handle,
  logger,
}: {
  nc: NatsConnection;
  namespace: string;
  handle: VerifyHandle;
  logger: Logger;
}): Subscription {
  return serveRequests({
    nc,
    subject: subjects(namespace).verifyRun,
    queue: `${namespace}_verifier`,
    what: "verify.run",
    logger,
    handle: async () => {
      if ("disabled" in handle) throw disabledError(handle);
      return handle.verify();
    },
    failure: (e) => {
      if (!(e instanceof AppError)) logger.error("verify.run failed", { err: e });
      return failureReply(e);
    },
  });
}
