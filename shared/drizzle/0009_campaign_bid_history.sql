CREATE TABLE "campaign_bids" (
	"id" serial PRIMARY KEY NOT NULL,
	"campaign_id" integer NOT NULL,
	"bid" numeric(10, 2) NOT NULL,
	"valid_from" timestamp DEFAULT now() NOT NULL,
	"_version" bigint DEFAULT nextval('adpipe_version_seq') NOT NULL,
	"_xid" "xid8" DEFAULT pg_current_xact_id() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "campaign_bids_xid_idx" ON "campaign_bids" USING btree ("_xid");--> statement-breakpoint
CREATE INDEX "campaign_bids_campaign_idx" ON "campaign_bids" USING btree ("campaign_id","valid_from");