import { NotFoundError } from "@adpipe/shared/errors";
import { createServiceApp } from "@adpipe/shared/http";
import type { Logger } from "@adpipe/shared/logger";
import { pingNats } from "@adpipe/shared/nats";
import { pathParams, queryParams } from "@adpipe/shared/validate";
import type { ClickHouseClient } from "@clickhouse/client";
import type { Context } from "hono";
import type { NatsConnection } from "nats";
import { z } from "zod";
import { toCsv } from "./csv.ts";
import type { Kpis, Row } from "./kpis.ts";
import type { Reporter } from "./reporter.ts";

export interface ReporterAppDeps {
  reporter: Pick<Reporter, "rebuildAll" | "status" | "checkRebuilds">;
  kpis: Kpis;
  nc: NatsConnection;
  clickhouse: ClickHouseClient;
  logger: Logger;
}

const id = z.coerce
  .number({ message: "expected an integer id" })
  .int("expected an integer id")
  .min(1)
  .max(2 ** 31 - 1);
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

async function pingClickHouse(clickhouse: ClickHouseClient): Promise<void> {
  const r = await clickhouse.ping();
  if (!r.success) throw r.error;
}

/** JSON (an array of objects) by default, CSV with a header line on `format=csv`. */
function respond(c: Context, rows: Row[], fmt: "json" | "csv", name: string) {
  if (fmt === "json") return c.json(rows);
  c.header("Content-Type", "text/csv; charset=utf-8");
  c.header("Content-Disposition", `inline; filename="${name}.csv"`);
  return c.body(toCsv(rows));
}

export function createApp({ reporter, kpis, nc, clickhouse, logger }: ReporterAppDeps) {
  const app = createServiceApp({
    service: "reporter",
    logger,
    checks: {
      clickhouse: () => pingClickHouse(clickhouse),
      nats: () => pingNats(nc),
      rebuilds: async () => reporter.checkRebuilds(),
    },
  });

  app.get("/kpis/campaigns", async (c) => {
    const q = queryParams(c, z.object({ advertiser_id: id.optional(), format }));
    return respond(c, await kpis.campaigns({ advertiser_id: q.advertiser_id }), q.format, "campaigns");
  });

  app.get("/kpis/campaigns/:id", async (c) => {
    const p = pathParams(c, z.object({ id }));
    const q = queryParams(c, z.object({ format }));
    const rows = await kpis.campaigns({ campaign_id: p.id });
    if (rows.length === 0) throw new NotFoundError(`campaign ${p.id} not found`);
    if (q.format === "csv") return respond(c, rows, "csv", `campaign-${p.id}`);
    return c.json(rows[0]);
  });

  const dailyQuery = z
    .object({ campaign_id: id.optional(), from: date.optional(), to: date.optional(), format })
    .refine((q) => !q.from || !q.to || q.from <= q.to, { message: "must not be before from", path: ["to"] });

  app.get("/kpis/daily", async (c) => {
    const q = queryParams(c, dailyQuery);
    if (q.campaign_id !== undefined && (await kpis.campaigns({ campaign_id: q.campaign_id })).length === 0)
      throw new NotFoundError(`campaign ${q.campaign_id} not found`);
    return respond(c, await kpis.daily(q), q.format, "daily");
  });

  app.get("/kpis/advertisers", async (c) => {
    const q = queryParams(c, z.object({ advertiser_id: id.optional(), format }));
    return respond(c, await kpis.advertisers(q), q.format, "advertisers");
  });

  app.get("/kpis/top", async (c) => {
    const q = queryParams(
      c,
      z.object({
        by: z.enum(["ctr", "spend"], { message: "expected ctr or spend" }).default("spend"),
        limit: z.coerce
          .number({ message: "expected an integer" })
          .int("expected an integer")
          .min(1)
          .max(1000)
          .default(10),
        format,
      }),
    );
    return respond(c, await kpis.top(q), q.format, `top-${q.by}`);
  });

  app.get("/reports/advertiser_campaigns_totals_report", async (c) => {
    const q = queryParams(c, z.object({ advertiser_id: id.optional(), format }));
    return respond(c, await kpis.campaigns(q), q.format, "advertiser_campaigns_totals_report");
  });

  app.get("/reports/advertiser_campaigns_daily_ctr_report", async (c) => {
    const q = queryParams(c, dailyQuery);
    return respond(c, await kpis.dailyReport(q), q.format, "advertiser_campaigns_daily_ctr_report");
  });

  app.post("/reports/rebuild", async (c) => {
    const result = await reporter.rebuildAll();
    logger.info("forced full rebuild", { durationMs: result.durationMs });
    return c.json(result);
  });

  app.get("/reports/status", async (c) => c.json(await reporter.status()));

  return app;
}
