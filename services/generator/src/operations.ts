import { type Pool, withTransaction } from "@adpipe/shared/pg";
import {
  createAdvertisers,
  createCampaigns,
  createClicks,
  createImpressions,
  createImpressionsWithClicks,
} from "./generate.ts";
import type { BatchInput } from "./inputs.ts";

export interface BatchResult {
  advertiserIds: number[];
  campaignIds: number[];
  impressions: number;
  clicks: number;
  durationMs: number;
}

/** The generator's operations, each one transaction; shared by the CLI, HTTP and the simulation. */
export function createOperations(pool: Pool) {
  return {
    advertisers: (count: number) => withTransaction(pool, (db) => createAdvertisers(db, count)),
    campaigns: (advertiserId: number, count: number) =>
      withTransaction(pool, (db) => createCampaigns(db, [advertiserId], count)),
    impressions: (campaignId: number, count: number) =>
      withTransaction(pool, (db) => createImpressions(db, [campaignId], count)),
    clicks: (campaignId: number, ratio: number) =>
      withTransaction(pool, (db) => createClicks(db, campaignId, ratio)),
    /** The original `batch` (seed.py main): advertisers, their campaigns, impressions, clicks. */
    batch: (input: BatchInput): Promise<BatchResult> =>
      withTransaction(pool, async (db) => {
        const started = performance.now();
        const advertiserIds = await createAdvertisers(db, input.advertisers);
        const campaignIds = await createCampaigns(db, advertiserIds, input.campaigns);
        const { impressions, clicks } = await createImpressionsWithClicks(
          db,
          campaignIds,
          input.impressions,
          input.ctr,
        );
        return { advertiserIds, campaignIds, impressions, clicks, durationMs: performance.now() - started };
      }),
    /**
     * Deletes all data. TRUNCATE (not the original's row-by-row DELETE) so it is instant on any
     * size; the change-capture triggers record it, so the pipeline empties ClickHouse too. Ids
     * keep counting up, as they did after the original's DELETE.
     */
    reset: () =>
      withTransaction(pool, async (db) => {
        await db.query("TRUNCATE clicks, impressions, campaign, advertiser");
      }),
  };
}

export type Operations = ReturnType<typeof createOperations>;
