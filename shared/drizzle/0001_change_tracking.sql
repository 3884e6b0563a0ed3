CREATE SEQUENCE "public"."adpipe_version_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "adpipe_deletion" (
	"table_name" text NOT NULL,
	"row_id" integer,
	"_version" bigint DEFAULT nextval('adpipe_version_seq') NOT NULL,
	"_xid" "xid8" DEFAULT pg_current_xact_id() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "adpipe_watermark" (
	"table_name" text PRIMARY KEY NOT NULL,
	"xid" "xid8" DEFAULT '0'::xid8 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "advertiser" ADD COLUMN "_version" bigint DEFAULT nextval('adpipe_version_seq') NOT NULL;--> statement-breakpoint
ALTER TABLE "advertiser" ADD COLUMN "_xid" "xid8" DEFAULT pg_current_xact_id() NOT NULL;--> statement-breakpoint
ALTER TABLE "campaign" ADD COLUMN "_version" bigint DEFAULT nextval('adpipe_version_seq') NOT NULL;--> statement-breakpoint
ALTER TABLE "campaign" ADD COLUMN "_xid" "xid8" DEFAULT pg_current_xact_id() NOT NULL;--> statement-breakpoint
ALTER TABLE "clicks" ADD COLUMN "_version" bigint DEFAULT nextval('adpipe_version_seq') NOT NULL;--> statement-breakpoint
ALTER TABLE "clicks" ADD COLUMN "_xid" "xid8" DEFAULT pg_current_xact_id() NOT NULL;--> statement-breakpoint
ALTER TABLE "impressions" ADD COLUMN "_version" bigint DEFAULT nextval('adpipe_version_seq') NOT NULL;--> statement-breakpoint
ALTER TABLE "impressions" ADD COLUMN "_xid" "xid8" DEFAULT pg_current_xact_id() NOT NULL;--> statement-breakpoint
CREATE INDEX "adpipe_deletion_xid_idx" ON "adpipe_deletion" USING btree ("_xid");--> statement-breakpoint
CREATE INDEX "advertiser_xid_idx" ON "advertiser" USING btree ("_xid");--> statement-breakpoint
CREATE INDEX "campaign_xid_idx" ON "campaign" USING btree ("_xid");--> statement-breakpoint
CREATE INDEX "clicks_xid_idx" ON "clicks" USING btree ("_xid");--> statement-breakpoint
CREATE INDEX "impressions_xid_idx" ON "impressions" USING btree ("_xid");