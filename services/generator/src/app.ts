import { createServiceApp } from "@adpipe/shared/http";
import type { Logger } from "@adpipe/shared/logger";
import { createRegistry } from "@adpipe/shared/metrics";
import type { Pool } from "@adpipe/shared/pg";
import type { HttpSecurity } from "@adpipe/shared/security";
import {
  advertisersInput,
  batchInput,
  campaignsInput,
  clicksInput,
  impressionsInput,
  resetInput,
  simulateSeedInput,
  simulateStartInput,
} from "./inputs.ts";
import type { Operations } from "./operations.ts";
import type { RealisticStep } from "./realistic-step.ts";
import type { Simulation } from "./simulation.ts";
import { readStats } from "./stats.ts";

export interface GeneratorAppDeps {
  pool: Pool;
  /** Wrap them with `instrumentOperations(ops, registry)` for their metrics. */
  ops: Operations;
  simulation: Simulation;
  logger: Logger;
  registry?: ReturnType<typeof createRegistry>;
  /** The realistic simulation's first batch (`POST /simulate/seed`). */
  realistic?: RealisticStep;
  /** Tokens for the control plane; without an API token every POST answers 401. */
  security?: HttpSecurity;
}

const generate = ["generate"];
const simulate = ["simulation"];
const created = { 201: "created" };

type ServiceApp = ReturnType<typeof createServiceApp>;

/** The generator's HTTP triggers: the CLI's operations, the simulation switch and stats. */
export function createApp({
  pool,
  ops,
  simulation,
  logger,
  registry = createRegistry("generator"),
  realistic,
  security,
}: GeneratorAppDeps) {
  const app = createServiceApp({
    service: "generator",
    logger,
    registry,
    security,
    description: "Synthetic ad traffic into PostgreSQL: the original tool's operations over HTTP.",
    checks: { postgres: () => pool.query("SELECT 1") },
  });
  addGenerateRoutes(app, ops, logger);
  addDataRoutes(app, pool, ops, logger);
  addSimulationRoutes(app, simulation, realistic, logger);
  return app;
}

/** POST /generate/*: the original tool's operations, one route each. */
function addGenerateRoutes(app: ServiceApp, ops: Operations, logger: Logger): void {
  app.api.post(
    "/generate/batch",
    {
      summary: "Advertisers, their campaigns, impressions and clicks in one transaction",
      tags: generate,
      body: batchInput,
      responses: created,
    },
    async (c, { body }) => {
      const r = await ops.batch(body);
      logger.info("batch generated", {
        advertisers: r.advertiserIds.length,
        campaigns: r.campaignIds.length,
        impressions: r.impressions,
        ctr: body.ctr,
        clicks: r.clicks,
      });
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
    },
  );
  app.api.post(
    "/generate/advertisers",
    {
      summary: "Advertisers named Advertiser A, B, …",
      tags: generate,
      body: advertisersInput,
      responses: created,
    },
    async (c, { body }) => c.json({ advertiser_ids: await ops.advertisers(body.count) }, 201),
  );
  app.api.post(
    "/generate/campaigns",
    {
      summary: "Campaigns for one advertiser",
      tags: generate,
      body: campaignsInput,
      responses: { ...created, 404: "unknown advertiser" },
    },
    async (c, { body }) => c.json({ campaign_ids: await ops.campaigns(body.advertiser_id, body.count) }, 201),
  );
  app.api.post(
    "/generate/impressions",
    {
      summary: "Impressions for one campaign, spread over the past week",
      tags: generate,
      body: impressionsInput,
      responses: { ...created, 404: "unknown campaign" },
    },
    async (c, { body }) => c.json({ impressions: await ops.impressions(body.campaign_id, body.count) }, 201),
  );
  app.api.post(
    "/generate/clicks",
    {
      summary: "Clicks for a sampled share of a campaign's impressions",
      tags: generate,
      body: clicksInput,
      responses: { ...created, 404: "unknown campaign" },
    },
    async (c, { body }) => c.json({ clicks: await ops.clicks(body.campaign_id, body.ratio) }, 201),
  );
}

/** GET /stats and POST /reset: what is in PostgreSQL, and deleting it. */
function addDataRoutes(app: ServiceApp, pool: Pool, ops: Operations, logger: Logger): void {
  app.api.get(
    "/stats",
    { summary: "Counts, overall CTR and per-campaign figures (the original `stats`)" },
    async (c) => {
      const s = await readStats(pool);
      return c.json({
        advertisers: s.advertisers,
        campaigns: s.campaigns,
        impressions: s.impressions,
        clicks: s.clicks,
        campaign_bids: s.campaign_bids,
        // A fraction (0.05 = 5 %), like the KPI API; the CLI's `stats` prints the original's percent.
        ctr: s.impressions > 0 ? s.clicks / s.impressions : null,
        campaign_details: s.campaignDetails.map((d) => ({
          ...d,
          ctr: d.impressions > 0 ? d.clicks / d.impressions : 0,
        })),
      });
    },
  );

  app.api.post(
    "/reset",
    { summary: 'Delete all data (needs {"confirm":"yes"})', body: resetInput },
    async (c) => {
      await ops.reset();
      logger.warn("all data deleted");
      return c.json({ reset: true });
    },
  );
}

/** /simulate/*: the continuous simulation's switch, and the realistic one's first batch. */
function addSimulationRoutes(
  app: ServiceApp,
  simulation: Simulation,
  realistic: RealisticStep | undefined,
  logger: Logger,
): void {
  app.api.get("/simulate", { summary: "The simulation's state", tags: simulate }, (c) =>
    c.json(simulation.state()),
  );
  app.api.post(
    "/simulate/start",
    {
      summary: "Start the continuous simulation",
      tags: simulate,
      body: simulateStartInput,
      optionalBody: true,
    },
    async (c, { body }) => c.json(simulation.start(body.interval_seconds)),
  );
  if (realistic)
    app.api.post(
      "/simulate/seed",
      {
        summary:
          "The realistic simulation's first batch: advertisers with campaigns in flight and their history",
        tags: simulate,
        body: simulateSeedInput,
        responses: created,
      },
      async (c, { body }) => {
        const r = await realistic.seed(body.advertisers, body.campaigns);
        logger.info("seeded", {
          advertisers: r.advertiserIds.length,
          campaigns: r.campaignIds.length,
          impressions: r.impressions,
          clicks: r.clicks,
        });
        return c.json(
          {
            advertiser_ids: r.advertiserIds,
            campaign_ids: r.campaignIds,
            impressions: r.impressions,
            clicks: r.clicks,
          },
          201,
        );
      },
    );
  app.api.post("/simulate/stop", { summary: "Stop the simulation", tags: simulate }, async (c) =>
    c.json(await simulation.stop()),
  );
}
