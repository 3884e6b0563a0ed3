import { type ClickHouseClient, pingClickHouse } from "@adpipe/shared/clickhouse";
import { createServiceApp } from "@adpipe/shared/http";
import type { Logger } from "@adpipe/shared/logger";
import type { Registry } from "@adpipe/shared/metrics";
import { pingNats } from "@adpipe/shared/nats";
import type { HttpSecurity } from "@adpipe/shared/security";
import { decimalInt } from "@adpipe/shared/validate";
import type { NatsConnection } from "nats";
import { z } from "zod";
import { requestReplay } from "./dead-letters.ts";
import type { Loader } from "./loader.ts";

export interface LoaderAppDeps {
  loader: Loader;
  nc: NatsConnection;
  clickhouse: ClickHouseClient;
  logger: Logger;
  registry?: Registry;
  /** Tokens for the control plane; without an API token every POST answers 401. */
  security?: HttpSecurity;
}

export function createApp({ loader, nc, clickhouse, logger, registry, security }: LoaderAppDeps) {
  const app = createServiceApp({
    service: "loader",
    logger,
    registry,
    security,
    description: "Inserts JetStream delta batches into ClickHouse and announces each completed insert.",
    checks: {
      clickhouse: () => pingClickHouse(clickhouse),
      nats: () => pingNats(nc),
      announcements: async () => loader.checkAnnouncements(),
      consumers: async () => loader.checkConsumers(),
    },
  });

  app.api.get(
    "/status",
    { summary: "Per table: consumer pending, rows loaded, last batch, errors" },
    async (c) => c.json(await loader.status()),
  );

  app.api.get(
    "/dead-letters",
    {
      summary: "Batches set aside, with their error",
      tags: ["dead letters"],
      query: z.object({ limit: decimalInt(z.number().int().min(1).max(1000)).default(100) }),
    },
    async (c, { query }) => c.json(await loader.deadLetters.list(query.limit)),
  );

  app.api.post(
    "/dead-letters/:id/replay",
    {
      summary: "Have the extractor publish a dead letter again on its original subject",
      tags: ["dead letters"],
      params: z.object({
        id: decimalInt(z.number().int().min(1, "must be a dead letter id"), "must be a dead letter id"),
      }),
      responses: { 200: "re-queued", 404: "no such dead letter", 503: "no extractor answered" },
    },
    async (c, { params }) => {
      const replayed = await requestReplay(nc, loader.namespace, params.id);
      logger.info("dead letter replayed", replayed);
      return c.json({ replayed });
    },
  );

  return app;
}
