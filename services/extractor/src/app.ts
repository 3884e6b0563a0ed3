import { createServiceApp, type ReadinessChecks } from "@adpipe/shared/http";
import type { Logger } from "@adpipe/shared/logger";
import type { Registry } from "@adpipe/shared/metrics";
import type { HttpSecurity } from "@adpipe/shared/security";
import type { Extractor } from "./extractor.ts";
import { extractRequest, extractResponse, resyncRequest, tableRequest } from "./requests.ts";
import { addVerifyRoutes, type VerifyHandle } from "./verify/routes.ts";

export interface AppDeps {
  extractor: Pick<Extractor, "extract" | "resync" | "watermarks" | "pause" | "resume"> &
    Partial<Pick<Extractor, "blocker">>;
  logger: Logger;
  /** `/ready` probes, named after what they check (`postgres`, `nats`). */
  checks: ReadinessChecks;
  registry?: Registry;
  /** Tokens for the control plane; without an API token every POST answers 401. */
  security?: HttpSecurity;
  /** The verifier's routes (`/verify`), when given. */
  verify?: VerifyHandle;
}

export function createApp({ extractor, logger, checks, registry, security, verify }: AppDeps) {
  const app = createServiceApp({
    service: "extractor",
    logger,
    checks,
    registry,
    security,
    description: "Publishes what changed in PostgreSQL since each table's watermark onto JetStream.",
  });

  app.api.post(
    "/extract",
    {
      summary: "Run an extraction cycle now, for every table or one",
      body: extractRequest,
      optionalBody: true,
      responses: { 200: "what each table did", 503: "a table failed; nothing advanced for it" },
    },
    async (c, { body }) => {
      const { results } = await extractor.extract(body.table);
      const { body: answer, failed } = extractResponse(results);
      return c.json(answer, failed ? 503 : 200);
    },
  );

  app.api.get(
    "/watermarks",
    { summary: "Each table's durable watermark, and the open transaction holding them back if any" },
    async (c) =>
      c.json({ watermarks: await extractor.watermarks(), blocked_by: extractor.blocker?.() ?? null }),
  );

  // Safe because the loader applies rows by version.
  app.api.post(
    "/resync",
    { summary: "Restart one table from the beginning (re-publishes it whole)", body: resyncRequest },
    async (c, { body }) => c.json({ watermark: await extractor.resync(body.table) }),
  );

  app.api.post(
    "/pause",
    {
      summary:
        "Hold one table: not extracted until resumed; its watermark stays, its changes wait in PostgreSQL",
      body: tableRequest,
      responses: { 200: "the table's watermark, with since when it is paused" },
    },
    async (c, { body }) => c.json({ watermark: await extractor.pause(body.table) }),
  );

  app.api.post(
    "/resume",
    {
      summary: "Let a held table flow again, from its watermark",
      body: tableRequest,
      responses: { 200: "the table's watermark (pausedSince null)" },
    },
    async (c, { body }) => c.json({ watermark: await extractor.resume(body.table) }),
  );

  if (verify) addVerifyRoutes(app, verify);

  return app;
}
