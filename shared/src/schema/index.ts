export * from "./advertiser.ts";
export * from "./campaign.ts";
export * from "./campaign-bids.ts";
export * from "./clicks.ts";
export * from "./impressions.ts";
export * from "./tracking.ts";
