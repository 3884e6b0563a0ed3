import { createServiceApp } from "@adpipe/shared/http";
import type { Logger } from "@adpipe/shared/logger";
import { pingNats } from "@adpipe/shared/nats";
import { pathParams, queryParams } from "@adpipe/shared/validate";
import type { ClickHouseClient } from "@clickhouse/client";
import type { NatsConnection } from "nats";
import { z } from "zod";
import type { Loader } from "./loader.ts";

export interface LoaderAppDeps {
  loader: Loader;
  nc: NatsConnection;
  clickhouse: ClickHouseClient;
  logger: Logger;
}

async function pingClickHouse(clickhouse: ClickHouseClient): Promise<void> {
  const r = await clickhouse.ping();
  if (!r.success) throw r.error;
}

export function createApp({ loader, nc, clickhouse, logger }: LoaderAppDeps) {
  const app = createServiceApp({
    service: "loader",
    logger,
    checks: { clickhouse: () => pingClickHouse(clickhouse), nats: () => pingNats(nc) },
  });

  app.get("/status", async (c) => c.json(await loader.status()));

  app.get("/dead-letters", async (c) => {
    const { limit } = queryParams(
      c,
      z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
    );
    return c.json(await loader.deadLetters.list(limit));
  });

  app.post("/dead-letters/:id/replay", async (c) => {
    const { id } = pathParams(
      c,
      z.object({ id: z.coerce.number().int().min(1, "must be a dead letter id") }),
    );
    const replayed = await loader.deadLetters.replay(id);
    logger.info("dead letter replayed", replayed);
    return c.json({ replayed });
  });

  return app;
}
