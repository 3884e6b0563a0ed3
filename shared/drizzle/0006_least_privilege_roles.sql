-- Least privilege (docs: README "Who may do what"). Two NOLOGIN group roles; login users join
-- them (compose/postgres-init.sh, bun start). The migrating user owns the tables and keeps DDL.
-- Roles are cluster-wide: created once, tolerated when another database already made them.
DO $$
BEGIN
  CREATE ROLE adpipe_generator NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
--> statement-breakpoint
DO $$
BEGIN
  CREATE ROLE adpipe_extractor NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
--> statement-breakpoint
-- The generator writes the four source tables (TRUNCATE is its reset) and nothing else.
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON advertiser, campaign, impressions, clicks TO adpipe_generator;
--> statement-breakpoint
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO adpipe_generator;
--> statement-breakpoint
-- The extractor reads them and writes only its own bookkeeping.
GRANT SELECT ON advertiser, campaign, impressions, clicks TO adpipe_extractor;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON adpipe_watermark, adpipe_deletion TO adpipe_extractor;
--> statement-breakpoint
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO adpipe_extractor;
--> statement-breakpoint
-- The change-capture triggers record deletes in adpipe_deletion on the generator's behalf: they
-- run with their owner's rights, so the generator needs no right on that table. A later
-- CREATE OR REPLACE of these functions must say SECURITY DEFINER again.
ALTER FUNCTION adpipe_stamp_update() SECURITY DEFINER SET search_path = public, pg_temp;
--> statement-breakpoint
ALTER FUNCTION adpipe_record_delete() SECURITY DEFINER SET search_path = public, pg_temp;
--> statement-breakpoint
ALTER FUNCTION adpipe_record_truncate() SECURITY DEFINER SET search_path = public, pg_temp;
