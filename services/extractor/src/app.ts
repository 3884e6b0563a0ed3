import { createServiceApp, type ReadinessChecks } from "@adpipe/shared/http";
import type { Logger } from "@adpipe/shared/logger";
import { jsonBody } from "@adpipe/shared/validate";
import type { Extractor } from "./extractor.ts";
import { extractRequest, extractResponse, resyncRequest } from "./requests.ts";

export interface AppDeps {
  extractor: Pick<Extractor, "extract" | "resync" | "watermarks">;
  logger: Logger;
  /** `/ready` probes, named after what they check (`postgres`, `nats`). */
  checks: ReadinessChecks;
}

export function createApp({ extractor, logger, checks }: AppDeps) {
  const app = createServiceApp({ service: "extractor", logger, checks });

  /** Runs a cycle now, for every table or one, and answers with what each table did. */
  app.post("/extract", async (c) => {
    const { table } = await jsonBody(c, extractRequest);
    const { results } = await extractor.extract(table);
    const { body, failed } = extractResponse(results);
    return c.json(body, failed ? 503 : 200);
  });

  app.get("/watermarks", async (c) => c.json({ watermarks: await extractor.watermarks() }));

  /** Restarts one table from the beginning; safe because the loader applies rows by version. */
  app.post("/resync", async (c) => {
    const { table } = await jsonBody(c, resyncRequest);
    return c.json({ watermark: await extractor.resync(table) });
  });

  return app;
}
