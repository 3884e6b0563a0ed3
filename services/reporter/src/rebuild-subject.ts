import { subjects } from "@adpipe/shared/contract";
import { errorBody } from "@adpipe/shared/errors";
import type { Logger } from "@adpipe/shared/logger";
import { parseJson } from "@adpipe/shared/validate";
import type { NatsConnection, Subscription } from "nats";
import { z } from "zod";
import type { Reporter } from "./reporter.ts";

const id = z
  .number()
  .int()
  .min(1)
  .max(2 ** 31 - 1);
/** `<ns>.reports.rebuild` (ReportsRebuildRequest in @adpipe/shared/verify). */
const rebuildRequest = z.object({
  campaigns: z.array(id).max(10_000),
  days: z
    .array(z.object({ campaign_id: id, day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) }))
    .max(10_000)
    .default([]),
});

/**
 * Answers `<ns>.reports.rebuild` once the rows of the campaigns asked for (and of the campaigns of
 * the days asked for, on every day) are rebuilt: the verifier's repair of drifted report rows.
 */
export function serveReportsRebuild({
  nc,
  namespace,
  reporter,
  logger,
}: {
  nc: NatsConnection;
  namespace: string;
  reporter: Pick<Reporter, "rebuildCampaigns">;
  logger: Logger;
}): Subscription {
  const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  return nc.subscribe(subjects(namespace).reportsRebuild, {
    queue: `${namespace}_reporter`,
    callback: (err, msg) => {
      if (err) {
        logger.warn("reports.rebuild subscription failed", { err });
        return;
      }
      (async () => {
        try {
          const req = parseJson(new TextDecoder().decode(msg.data), rebuildRequest);
          const campaigns = [...new Set([...req.campaigns, ...req.days.map((d) => d.campaign_id)])];
          const result = await reporter.rebuildCampaigns(campaigns);
          logger.info("rebuilt report rows on request", {
            campaigns: campaigns.length,
            version: result.version,
          });
          msg.respond(
            encode({ version: result.version, campaigns: campaigns.length, reports: result.reports }),
          );
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          logger.warn("reports.rebuild failed", { err: e });
          msg.respond(encode(errorBody("rebuild_failed", message)));
        }
      })();
    },
  });
}
