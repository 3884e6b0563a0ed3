import { type Pool, withTransaction } from "@adpipe/shared/pg";
import { adjustCampaign, countDeliverable, deliver, launchAdvertisers } from "./realistic.ts";

/** Below this many campaigns with budget left and in flight, a new advertiser signs up. */
export const MIN_DELIVERABLE = 8;

export interface RealisticStepOptions {
  pool: Pool;
  random?: () => number;
  /** The clock; a test hands in a fast one. */
  now?: () => Date;
  /** Chance per step of a bid or budget change on one campaign. */
  adjustChance?: number;
  /** Below this many deliverable campaigns a new advertiser signs up (a test of delivery alone: 0). */
  minDeliverable?: number;
  /** Chance per step of a new advertiser anyway. */
  launchChance?: number;
}

/**
 * One step of the realistic simulation, one transaction: traffic since the previous step for
 * every campaign in flight, now and then a bid or budget change, and a new advertiser when too
 * few campaigns can still deliver (or, rarely, just because).
 */
export function createRealisticStep({
  pool,
  random = Math.random,
  now = () => new Date(),
  adjustChance = 0.1,
  minDeliverable = MIN_DELIVERABLE,
  launchChance = 0.01,
}: RealisticStepOptions) {
  let last: Date | null = null;
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));

  return {
    /** The first batch of an empty platform: advertisers with campaigns in flight and their history. */
    seed: (advertisers: number, campaigns: number) =>
      withTransaction(pool, (db) => launchAdvertisers(db, advertisers, campaigns, now())),
    async step(): Promise<{ action: string; result: Record<string, unknown> }> {
      const at = now();
      const since = last ?? new Date(at.getTime() - 60_000);
      return withTransaction(pool, async (db) => {
        const result: Record<string, unknown> = {};
        if ((await countDeliverable(db, at)) < minDeliverable || random() < launchChance) {
          const launched = await launchAdvertisers(db, 1, between(2, 4), at);
          result.launched_campaign_ids = launched.campaignIds;
        }
        if (random() < adjustChance) {
          const what = random() < 0.5 ? "bid" : "budget";
          const factor = what === "bid" ? 0.8 + random() * 0.4 : 0.9 + random() * 0.4;
          const changed = await adjustCampaign(db, at, what, factor);
          if (changed) result[`${what}_changed`] = changed;
        }
        const delivered = await deliver(db, at, since);
        last = at;
        return { action: "deliver", result: { ...delivered, ...result } };
      });
    },
  };
}

export type RealisticStep = ReturnType<typeof createRealisticStep>;
