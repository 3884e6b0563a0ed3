import { bigserial, index, pgTable, timestamp, varchar } from "drizzle-orm/pg-core";
import { trackingColumns } from "./tracking.ts";

export const advertiser = pgTable(
  "advertiser",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    name: varchar("name", { length: 255 }).notNull(),
    updatedAt: timestamp("updated_at", { mode: "string" }),
    createdAt: timestamp("created_at", { mode: "string" }).defaultNow(),
    ...trackingColumns(),
  },
  (t) => [index("advertiser_xid_idx").on(t.xid)],
);
