import { bigint, bigserial, index, numeric, pgTable, timestamp } from "drizzle-orm/pg-core";
import { trackingColumns } from "./tracking.ts";

/**
 * Every bid a campaign has had, from when: the price of a click is the bid in force when it
 * happened (docs/kpis.md, "Spend and cost"). Written only by the database itself: a trigger
 * on `campaign` adds a row when a campaign is inserted or its bid changes, whichever client did it
 * (the original Python generator too), and removes a campaign's rows with it (migration 0010).
 * `valid_from` is the writing transaction's start (`now()`), the same clock as the facts'
 * `created_at` default; ties go to the larger id. No foreign key: the original's reset truncates
 * `campaign` alone, which a reference would refuse (the trigger truncates this table instead).
 */
export const campaignBids = pgTable(
  "campaign_bids",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    campaignId: bigint("campaign_id", { mode: "number" }).notNull(),
    bid: numeric("bid", { precision: 10, scale: 2 }).notNull(),
    validFrom: timestamp("valid_from", { mode: "string" }).notNull().defaultNow(),
    ...trackingColumns(),
  },
  (t) => [
    index("campaign_bids_xid_idx").on(t.xid),
    index("campaign_bids_campaign_idx").on(t.campaignId, t.validFrom),
  ],
);
