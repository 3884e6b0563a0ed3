import { type ClickHouseClient, pingClickHouse } from "@adpipe/shared/clickhouse";
import { MAX_ID } from "@adpipe/shared/contract";
import { NotFoundError } from "@adpipe/shared/errors";
import { createServiceApp } from "@adpipe/shared/http";
import type { Logger } from "@adpipe/shared/logger";
import type { Registry } from "@adpipe/shared/metrics";
import { pingNats } from "@adpipe/shared/nats";
import type { HttpSecurity } from "@adpipe/shared/security";
import { decimalInt } from "@adpipe/shared/validate";
import type { Context } from "hono";
import type { NatsConnection } from "nats";
import { z } from "zod";
import { toCsv } from "./csv.ts";
import { addDashboard, type DashboardDeps } from "./dashboard.ts";
import type { Kpis, Row } from "./kpis.ts";
import type { Reporter } from "./reporter.ts";

export interface ReporterAppDeps {
  reporter: Pick<Reporter, "rebuildAll" | "status" | "checkRebuilds" | "checkConsumer">;
  kpis: Kpis;
  nc: NatsConnection;
  clickhouse: ClickHouseClient;
  logger: Logger;
  registry?: Registry;
  /** The dashboard's view of the other services (see docs/dashboard.md). */
  dashboard: Omit<DashboardDeps, "clickhouse" | "nc">;
  /** Tokens for the control plane; without an API token every POST answers 401. */
  security?: HttpSecurity;
}

const id = decimalInt(
  z.number().int("expected an integer id").min(1).max(MAX_ID, "expected an id up to 2^53 - 1"),
  "expected an integer id",
);
const date = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "expected a date YYYY-MM-DD")
  .refine(
    (s) =>
      !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s),
    {
      message: "expected a valid calendar date YYYY-MM-DD",
    },
  );
const format = z.enum(["json", "csv"], { message: "expected json or csv" }).default("json");

/** JSON (an array of objects) by default, CSV with a header line on `format=csv`. */
function respond(c: Context, rows: Row[], fmt: "json" | "csv", name: string) {
  if (fmt === "json") return c.json(rows);
  c.header("Content-Type", "text/csv; charset=utf-8");
  c.header("Content-Disposition", `inline; filename="${name}.csv"`);
  return c.body(toCsv(rows));
}

const kpi = ["kpis"];
const report = ["reports"];
const csvToo = ["text/csv"];
const advertiserFilter = z.object({ advertiser_id: id.optional(), format });
const dailyQuery = z
  .object({
    campaign_id: id.optional(),
    advertiser_id: id.optional(),
    from: date.optional(),
    to: date.optional(),
    format,
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { message: "must not be before from", path: ["to"] });

export function createApp({
  reporter,
  kpis,
  nc,
  clickhouse,
  logger,
  registry,
  dashboard,
  security,
}: ReporterAppDeps) {
  const app = createServiceApp({
    service: "reporter",
    logger,
    registry,
    security,
    description: "KPI reports kept current from loaded events; JSON by default, CSV with format=csv.",
    checks: {
      clickhouse: () => pingClickHouse(clickhouse),
      nats: () => pingNats(nc),
      rebuilds: async () => reporter.checkRebuilds(),
      consumer: async () => reporter.checkConsumer(),
    },
  });

  addKpiRoutes(app, kpis);
  addReportRoutes(app, reporter, kpis, logger);
  addDashboard(app, { clickhouse, nc, ...dashboard });
  return app;
}

type ServiceApp = ReturnType<typeof createServiceApp>;

/** A list filtered by `advertiser_id`, as JSON or as CSV (`format=csv`, named `<file>.csv`). */
function advertiserList(
  app: ServiceApp,
  path: string,
  summary: string,
  tags: string[],
  file: string,
  rows: (filter: { advertiser_id?: number }) => Promise<Row[]>,
) {
  app.api.get(path, { summary, tags, query: advertiserFilter, produces: csvToo }, async (c, { query }) =>
    respond(c, await rows(query), query.format, file),
  );
}

/** GET /kpis/*: the KPIs per campaign, day and advertiser, pacing and the top campaigns. */
function addKpiRoutes(app: ServiceApp, kpis: Kpis): void {
  advertiserList(
    app,
    "/kpis/campaigns",
    "KPIs per campaign (CTR, spend, budget, pacing, CPM, CPC)",
    kpi,
    "campaigns",
    (q) => kpis.campaigns({ advertiser_id: q.advertiser_id }),
  );

  app.api.get(
    "/kpis/campaigns/:id",
    {
      summary: "KPIs of one campaign",
      tags: kpi,
      params: z.object({ id }),
      query: z.object({ format }),
      produces: csvToo,
      responses: { 200: "the campaign's KPIs", 404: "unknown campaign" },
    },
    async (c, { params, query }) => {
      const rows = await kpis.campaigns({ campaign_id: params.id });
      if (rows.length === 0) throw new NotFoundError(`campaign ${params.id} not found`);
      if (query.format === "csv") return respond(c, rows, "csv", `campaign-${params.id}`);
      return c.json(rows[0]);
    },
  );

  app.api.get(
    "/kpis/daily",
    {
      summary: "Impressions, clicks and CTR per day (one campaign, or all / one advertiser's summed)",
      tags: kpi,
      query: dailyQuery,
      produces: csvToo,
      responses: { 200: "one object per day", 404: "unknown campaign" },
    },
    async (c, { query }) => {
      if (
        query.campaign_id !== undefined &&
        (await kpis.campaigns({ campaign_id: query.campaign_id })).length === 0
      )
        throw new NotFoundError(`campaign ${query.campaign_id} not found`);
      return respond(c, await kpis.daily(query), query.format, "daily");
    },
  );

  advertiserList(app, "/kpis/advertisers", "Spend and pacing per advertiser", kpi, "advertisers", (q) =>
    kpis.advertisers(q),
  );

  advertiserList(
    app,
    "/kpis/pacing",
    "Pacing per campaign: planned to date, projection to the end of the flight, delivery flag",
    kpi,
    "pacing",
    (q) => kpis.pacing(q),
  );

  advertiserList(
    app,
    "/kpis/pacing/advertisers",
    "Pacing rolled up per advertiser (campaigns whose flight has begun)",
    kpi,
    "pacing-advertisers",
    (q) => kpis.pacingAdvertisers(q),
  );

  app.api.get(
    "/kpis/top",
    {
      summary: "Top campaigns by CTR or spend",
      tags: kpi,
      produces: csvToo,
      query: z.object({
        by: z.enum(["ctr", "spend"], { message: "expected ctr or spend" }).default("spend"),
        limit: decimalInt(
          z.number().int("expected an integer").min(1).max(1000),
          "expected an integer",
        ).default(10),
        format,
      }),
    },
    async (c, { query }) => respond(c, await kpis.top(query), query.format, `top-${query.by}`),
  );
}

/** /reports/*: the original two reports, a forced rebuild and the reporter's status. */
function addReportRoutes(
  app: ServiceApp,
  reporter: ReporterAppDeps["reporter"],
  kpis: Kpis,
  logger: Logger,
): void {
  advertiserList(
    app,
    "/reports/advertiser_campaigns_totals_report",
    "The original totals report (campaign planning)",
    report,
    "advertiser_campaigns_totals_report",
    (q) => kpis.campaigns(q),
  );

  app.api.get(
    "/reports/advertiser_campaigns_daily_ctr_report",
    { summary: "The original daily CTR report", tags: report, query: dailyQuery, produces: csvToo },
    async (c, { query }) =>
      respond(c, await kpis.dailyReport(query), query.format, "advertiser_campaigns_daily_ctr_report"),
  );

  app.api.post(
    "/reports/rebuild",
    { summary: "Rebuild every report from scratch", tags: report },
    async (c) => {
      const result = await reporter.rebuildAll();
      logger.info("forced full rebuild", { durationMs: result.durationMs });
      return c.json(result);
    },
  );

  app.api.get(
    "/reports/status",
    { summary: "Last rebuild, watermark per table, pending events", tags: report },
    async (c) => c.json(await reporter.status()),
  );
}
