import { bigint, bigserial, date, index, numeric, pgTable, timestamp, varchar } from "drizzle-orm/pg-core";
import { advertiser } from "./advertiser.ts";
import { trackingColumns } from "./tracking.ts";

export const campaign = pgTable(
  "campaign",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    name: varchar("name", { length: 255 }).notNull(),
    bid: numeric("bid", { precision: 10, scale: 2 }).notNull(),
    budget: numeric("budget", { precision: 10, scale: 2 }).notNull(),
    startDate: date("start_date", { mode: "string" }),
    endDate: date("end_date", { mode: "string" }),
    advertiserId: bigint("advertiser_id", { mode: "number" }).references(() => advertiser.id),
    updatedAt: timestamp("updated_at", { mode: "string" }),
    createdAt: timestamp("created_at", { mode: "string" }).defaultNow(),
    ...trackingColumns(),
  },
  (t) => [index("campaign_xid_idx").on(t.xid)],
);
