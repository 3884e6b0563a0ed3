import type { ServiceApp } from "@adpipe/shared/http";
import { callService } from "./upstream.ts";

/**
 * `/dashboard/api/verify`: the extractor's verifier status (`GET /verify`) for the dashboard's
 * badge (dashboard/verify.js). An extractor that is down or has verification off is an answer
 * too: `{ enabled: false, reason }`, never an error for the page.
 */
export function addVerifyBadgeRoute(app: ServiceApp, extractorUrl: string, timeoutMs: number): void {
  app.api.get(
    "/dashboard/api/verify",
    { summary: "The verifier's status, as the extractor reports it (for the badge)", tags: ["dashboard"] },
    async (c) => {
      const authorization = c.req.header("authorization");
      const answer = await callService(extractorUrl, "/verify", timeoutMs, { authorization });
      if (answer.ok) return c.json(answer.body as object);
      return c.json({ enabled: false, reason: `extractor: ${answer.error}` });
    },
  );
}
