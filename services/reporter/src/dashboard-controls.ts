import { AppError } from "@adpipe/shared/errors";
import type { ServiceApp } from "@adpipe/shared/http";
import { decimalInt } from "@adpipe/shared/validate";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { type Answer, callService } from "./upstream.ts";

const tags = ["dashboard"];
/** How long a control (generate, simulation, replay) may take before it answers 502. */
const CONTROL_TIMEOUT_MS = 60_000;

/** A control the page triggers: the other service's answer, or its error with its status. */
function forwarded(answer: Answer, service: string) {
  if (answer.ok) return answer.body;
  const status = (answer.status ?? 502) as ContentfulStatusCode;
  throw new AppError(
    answer.status === null ? "upstream_unavailable" : "upstream_error",
    `${service}: ${answer.error}`,
    status,
  );
}

/**
 * The dashboard's controls, forwarded to the service that does the work: generate a batch, start
 * and stop the simulation, replay a dead letter.
 */
export function addControlRoutes(
  app: ServiceApp,
  upstreams: { generator: string; loader: string },
  timeoutMs: number,
): void {
  // Controls forward the caller's token (the reporter's own check already accepted it). They do
  // work (a realistic batch writes its history: seconds), so they wait longer than a health read.
  const control = (c: Context, base: string, path: string, body?: unknown) =>
    callService(base, path, Math.max(timeoutMs, CONTROL_TIMEOUT_MS), {
      method: "POST",
      body,
      authorization: c.req.header("authorization"),
    });

  app.api.post(
    "/dashboard/api/generate-batch",
    {
      summary:
        "Generate a batch: `realistic` (default; the generator's POST /simulate/seed: campaigns in flight with their history so far, within budget) or `original` (POST /generate/batch: the original tool's batch)",
      tags,
      body: z.object({
        mode: z
          .enum(["realistic", "original"], { message: "expected realistic or original" })
          .default("realistic"),
        advertisers: z.number().int().min(1).max(100).default(1),
        campaigns: z.number().int().min(1).max(100).default(2),
        impressions: z.number().int().min(0).max(100_000).default(1000),
        ctr: z.number().min(0).max(1).default(0.02),
      }),
      responses: { 200: "the generator's answer", 502: "the generator is unreachable" },
    },
    async (c, { body }) => {
      const { mode, ...batch } = body;
      const answer =
        mode === "realistic"
          ? await control(c, upstreams.generator, "/simulate/seed", {
              advertisers: batch.advertisers,
              campaigns: batch.campaigns,
            })
          : await control(c, upstreams.generator, "/generate/batch", batch);
      return c.json(forwarded(answer, "generator"));
    },
  );

  app.api.post(
    "/dashboard/api/simulate/start",
    {
      summary: "Start the generator's simulation",
      tags,
      body: z.object({ interval_seconds: z.number().min(1).max(86_400).optional() }),
      optionalBody: true,
    },
    async (c, { body }) =>
      c.json(forwarded(await control(c, upstreams.generator, "/simulate/start", body), "generator")),
  );

  app.api.post(
    "/dashboard/api/simulate/stop",
    { summary: "Stop the generator's simulation", tags },
    async (c) => c.json(forwarded(await control(c, upstreams.generator, "/simulate/stop"), "generator")),
  );

  app.api.post(
    "/dashboard/api/dead-letters/:id/replay",
    {
      summary: "Replay a dead letter (forwarded to the loader)",
      tags,
      params: z.object({ id: decimalInt(z.number().int().min(1)) }),
      responses: { 200: "re-queued", 404: "no such dead letter", 502: "the loader is unreachable" },
    },
    async (c, { params }) =>
      c.json(forwarded(await control(c, upstreams.loader, `/dead-letters/${params.id}/replay`), "loader")),
  );
}
