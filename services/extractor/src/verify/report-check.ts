import type { ClickHouseClient } from "@adpipe/shared/clickhouse";
import { subjects } from "@adpipe/shared/contract";
import type { Logger } from "@adpipe/shared/logger";
import { replyError, reportsRebuildReply } from "@adpipe/shared/messages/replies";
import { reportsRebuildRequest } from "@adpipe/shared/messages/verify";
import type { Pool } from "@adpipe/shared/pg";
import type { ReportsRebuildRequest, VerifyReportStatus } from "@adpipe/shared/verify";
import type { NatsConnection } from "nats";
import type { VerifyQueries } from "./queries.ts";
import { campaignOf, differingKeys, postgresFigures, reportFigures } from "./reports.ts";
import { clickhouseSide } from "./sides.ts";

const SAMPLE = 10;
/** More differing report campaigns than this: ask for them in slices of this size. */
const REBUILD_SLICE = 500;

export interface ReportCheckDeps {
  pool: Pool;
  clickhouse: ClickHouseClient;
  nc: NatsConnection;
  queries: VerifyQueries;
  config: { namespace: string; chunkIds: number; settleMs: number };
  logger: Logger;
  /** The verifier's stop check, between ranges. */
  checkStopped: () => void;
  /** Called when a rebuild is about to be asked (the status's phase). */
  onRepair: () => void;
}

/**
 * The report check of a full run (docs/verifier.md, "Reports"): PostgreSQL's impressions and
 * clicks per (campaign, day) and per campaign against the report tables; confirmed differences
 * are rebuilt by the reporter on request, then compared again.
 */
export function createReportCheck({
  pool,
  clickhouse,
  nc,
  queries,
  config,
  logger,
  checkStopped,
  onRepair,
}: ReportCheckDeps) {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  async function figuresDiff(campaigns?: number[]) {
    const ch = clickhouseSide(clickhouse, queries, "campaign", []);
    const reports = await reportFigures(ch, queries.dailyReport, queries.totalsReport, campaigns);
    const pgFigures = await postgresFigures(pool, config.chunkIds, campaigns, checkStopped);
    return { keys: differingKeys(pgFigures, reports), checked: pgFigures.size, pg: pgFigures, reports };
  }

  return async function verifyReports(): Promise<VerifyReportStatus> {
    const result: VerifyReportStatus = {
      verifiedAt: null,
      keysChecked: 0,
      driftFound: 0,
      campaignsRebuilt: 0,
      clean: true,
    };
    const first = await figuresDiff();
    result.keysChecked = first.checked;
    if (first.keys.length > 0) {
      if (config.settleMs > 0) await sleep(config.settleMs);
      const suspects = [...new Set(first.keys.map(campaignOf))];
      // Drift is a difference that holds still: a key whose PostgreSQL figures or report row moved
      // during the pause is in flight (new facts, a rebuild under way) and left to the next run.
      const second = await figuresDiff(suspects);
      const same = (
        a?: { impressions: number; clicks: number },
        b?: { impressions: number; clicks: number },
      ) => a?.impressions === b?.impressions && a?.clicks === b?.clicks;
      const confirmed = second.keys.filter(
        (k) => same(first.pg.get(k), second.pg.get(k)) && same(first.reports.get(k), second.reports.get(k)),
      );
      result.driftFound = confirmed.length;
      const campaigns = [...new Set(confirmed.map(campaignOf))];
      if (campaigns.length > 0) {
        onRepair();
        logger.warn("reports differ from PostgreSQL; asking the reporter to rebuild", {
          keys: confirmed.length,
          campaigns: campaigns.length,
          sample: confirmed.slice(0, SAMPLE),
        });
        for (let i = 0; i < campaigns.length; i += REBUILD_SLICE) {
          const slice = campaigns.slice(i, i + REBUILD_SLICE);
          const request: ReportsRebuildRequest = { campaigns: slice, days: [] };
          const reply = await nc.request(
            subjects(config.namespace).reportsRebuild,
            reportsRebuildRequest.encode(request),
            {
              timeout: 60_000,
            },
          );
          const error = replyError(reportsRebuildReply.decode(reply.data));
          if (error) throw new Error(`reports.rebuild: ${error.message}`);
        }
        result.campaignsRebuilt = campaigns.length;
        result.clean = (await figuresDiff(campaigns)).keys.length === 0;
      }
    }
    result.verifiedAt = new Date().toISOString();
    return result;
  };
}
