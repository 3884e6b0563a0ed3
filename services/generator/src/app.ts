import { createServiceApp } from "@adpipe/shared/http";
import type { Logger } from "@adpipe/shared/logger";
import type { Pool } from "@adpipe/shared/pg";
import { jsonBody } from "@adpipe/shared/validate";
import {
  advertisersInput,
  batchInput,
  campaignsInput,
  clicksInput,
  impressionsInput,
  resetInput,
  simulateStartInput,
} from "./inputs.ts";
import type { Operations } from "./operations.ts";
import type { Simulation } from "./simulation.ts";
import { readStats } from "./stats.ts";

export interface GeneratorAppDeps {
  pool: Pool;
  ops: Operations;
  simulation: Simulation;
  logger: Logger;
}

/** The generator's HTTP triggers: the CLI's operations, the simulation switch and stats. */
export function createApp({ pool, ops, simulation, logger }: GeneratorAppDeps) {
  const app = createServiceApp({
    service: "generator",
    logger,
    checks: { postgres: () => pool.query("SELECT 1") },
  });

  app.post("/generate/batch", async (c) => {
    const input = await jsonBody(c, batchInput);
    const r = await ops.batch(input);
    logger.info("batch generated", { ...input, impressions: r.impressions, clicks: r.clicks });
    return c.json(
      {
        advertiser_ids: r.advertiserIds,
        campaign_ids: r.campaignIds,
        impressions: r.impressions,
        clicks: r.clicks,
        duration_ms: Math.round(r.durationMs),
      },
      201,
    );
  });
  app.post("/generate/advertisers", async (c) => {
    const { count } = await jsonBody(c, advertisersInput);
    return c.json({ advertiser_ids: await ops.advertisers(count) }, 201);
  });
  app.post("/generate/campaigns", async (c) => {
    const input = await jsonBody(c, campaignsInput);
    return c.json({ campaign_ids: await ops.campaigns(input.advertiser_id, input.count) }, 201);
  });
  app.post("/generate/impressions", async (c) => {
    const input = await jsonBody(c, impressionsInput);
    return c.json({ impressions: await ops.impressions(input.campaign_id, input.count) }, 201);
  });
  app.post("/generate/clicks", async (c) => {
    const input = await jsonBody(c, clicksInput);
    return c.json({ clicks: await ops.clicks(input.campaign_id, input.ratio) }, 201);
  });

  app.get("/stats", async (c) => {
    const s = await readStats(pool);
    return c.json({
      advertisers: s.advertisers,
      campaigns: s.campaigns,
      impressions: s.impressions,
      clicks: s.clicks,
      ctr: s.ctr,
      campaign_details: s.campaignDetails,
    });
  });

  app.post("/reset", async (c) => {
    await jsonBody(c, resetInput);
    await ops.reset();
    logger.warn("all data deleted");
    return c.json({ reset: true });
  });

  app.get("/simulate", (c) => c.json(simulation.state()));
  app.post("/simulate/start", async (c) => {
    const { interval_seconds } = await jsonBody(c, simulateStartInput);
    return c.json(simulation.start(interval_seconds));
  });
  app.post("/simulate/stop", async (c) => c.json(await simulation.stop()));

  return app;
}
