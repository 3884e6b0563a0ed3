export * from "./advertiser.ts";
export * from "./campaign.ts";
export * from "./clicks.ts";
export * from "./impressions.ts";
export * from "./tracking.ts";
