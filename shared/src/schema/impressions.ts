import { index, integer, pgTable, serial, timestamp } from "drizzle-orm/pg-core";
import { campaign } from "./campaign.ts";
import { trackingColumns } from "./tracking.ts";

export const impressions = pgTable(
  "impressions",
  {
    id: serial("id").primaryKey(),
    campaignId: integer("campaign_id").references(() => campaign.id),
    createdAt: timestamp("created_at", { mode: "string" }).defaultNow(),
    ...trackingColumns(),
  },
  (t) => [index("impressions_xid_idx").on(t.xid), index("impressions_campaign_id_idx").on(t.campaignId)],
);
