import { subjects } from "@adpipe/shared/contract";
import { errorBody } from "@adpipe/shared/errors";
import type { Logger } from "@adpipe/shared/logger";
import { type ReportsRebuildReply, reportsRebuildReply } from "@adpipe/shared/messages/replies";
import { reportsRebuildRequest } from "@adpipe/shared/messages/verify";
import { serveRequests } from "@adpipe/shared/nats-requests";
import type { NatsConnection, Subscription } from "nats";
import type { Reporter } from "./reporter.ts";

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
  return serveRequests({
    nc,
    subject: subjects(namespace).reportsRebuild,
    queue: `${namespace}_reporter`,
    what: "reports.rebuild",
    logger,
    handle: async (data): Promise<ReportsRebuildReply> => {
      const req = reportsRebuildRequest.decode(data);
      const campaigns = [...new Set([...req.campaigns, ...req.days.map((d) => d.campaign_id)])];
      const result = await reporter.rebuildCampaigns(campaigns);
      logger.info("rebuilt report rows on request", { campaigns: campaigns.length, version: result.version });
      // Validated as the requester will read it.
      return reportsRebuildReply.schema.parse({
        version: result.version,
        campaigns: campaigns.length,
        reports: result.reports,
      });
    },
    failure: (e) => {
      logger.warn("reports.rebuild failed", { err: e });
      return errorBody("rebuild_failed", e instanceof Error ? e.message : String(e));
    },
  });
}
