import { bigint, bigserial, index, pgTable, timestamp } from "drizzle-orm/pg-core";
import { campaign } from "./campaign.ts";
import { trackingColumns } from "./tracking.ts";

export const impressions = pgTable(
  "impressions",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    campaignId: bigint("campaign_id", { mode: "number" }).references(() => campaign.id),
    createdAt: timestamp("created_at", { mode: "string" }).defaultNow(),
    ...trackingColumns(),
  },
  (t) => [index("impressions_xid_idx").on(t.xid), index("impressions_campaign_id_idx").on(t.campaignId)],
);
