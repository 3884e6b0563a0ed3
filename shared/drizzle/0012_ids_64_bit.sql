-- Every id becomes 64-bit (issue #30): a 32-bit serial runs out at 2,147,483,647 rows, five days of
-- impressions at 5,000 a second. Written by hand: drizzle-kit's diff for serial -> bigserial is
-- `SET DATA TYPE bigserial`, which PostgreSQL refuses (bigserial is no type). The snapshot beside it
-- is drizzle-kit's own, so a later `db:generate` finds nothing to do.
-- Each table is rewritten once (one ALTER TABLE per table, every widened column in it); the rows,
-- their versions and their transaction ids are copied as they are, no trigger fires, so nothing is
-- captured as a change and nothing is re-extracted. Clients that never name id (the original
-- Python generator) are unaffected: the sequences only widen (AS bigint also lifts their maximum).
-- The bid trigger fires on UPDATE OF id, which pins the column's type: it is dropped and created
-- again around the ALTER, in this one transaction.
DROP TRIGGER adpipe_record_bid ON campaign;--> statement-breakpoint
ALTER TABLE "advertiser" ALTER COLUMN "id" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "campaign" ALTER COLUMN "id" SET DATA TYPE bigint, ALTER COLUMN "advertiser_id" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "impressions" ALTER COLUMN "id" SET DATA TYPE bigint, ALTER COLUMN "campaign_id" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "clicks" ALTER COLUMN "id" SET DATA TYPE bigint, ALTER COLUMN "campaign_id" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "campaign_bids" ALTER COLUMN "id" SET DATA TYPE bigint, ALTER COLUMN "campaign_id" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "adpipe_deletion" ALTER COLUMN "row_id" SET DATA TYPE bigint, ALTER COLUMN "campaign_id" SET DATA TYPE bigint;--> statement-breakpoint
ALTER SEQUENCE "advertiser_id_seq" AS bigint;--> statement-breakpoint
ALTER SEQUENCE "campaign_id_seq" AS bigint;--> statement-breakpoint
ALTER SEQUENCE "impressions_id_seq" AS bigint;--> statement-breakpoint
ALTER SEQUENCE "clicks_id_seq" AS bigint;--> statement-breakpoint
ALTER SEQUENCE "campaign_bids_id_seq" AS bigint;--> statement-breakpoint
CREATE TRIGGER adpipe_record_bid AFTER INSERT OR UPDATE OF bid, id ON campaign
FOR EACH ROW EXECUTE FUNCTION adpipe_record_bid();
--> statement-breakpoint
-- Sessions open across the migration (a generator's, the original's) hold the trigger functions
-- compiled for 32-bit rows, and PL/pgSQL would fail their next write ("type of parameter ... does
-- not match that when preparing the plan"). Creating the functions again, with the same text as in
-- 0008 and 0010, makes every session compile them anew.
CREATE OR REPLACE FUNCTION adpipe_stamp_update() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF TG_TABLE_NAME IN ('impressions', 'clicks') THEN
    -- Only these tables have the columns; the branch is not evaluated for the others.
    IF NEW.id IS DISTINCT FROM OLD.id
       OR (NEW.campaign_id, NEW.created_at) IS DISTINCT FROM (OLD.campaign_id, OLD.created_at) THEN
      INSERT INTO adpipe_deletion (table_name, row_id, campaign_id, created_at)
      VALUES (TG_TABLE_NAME, OLD.id, OLD.campaign_id, OLD.created_at);
    END IF;
  ELSIF NEW.id IS DISTINCT FROM OLD.id THEN
    INSERT INTO adpipe_deletion (table_name, row_id) VALUES (TG_TABLE_NAME, OLD.id);
  END IF;
  NEW._version := nextval('adpipe_version_seq');
  NEW._xid := pg_current_xact_id();
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION adpipe_record_delete() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF TG_TABLE_NAME IN ('impressions', 'clicks') THEN
    INSERT INTO adpipe_deletion (table_name, row_id, campaign_id, created_at)
    SELECT TG_TABLE_NAME, id, campaign_id, created_at FROM adpipe_old_rows;
  ELSE
    INSERT INTO adpipe_deletion (table_name, row_id) SELECT TG_TABLE_NAME, id FROM adpipe_old_rows;
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION adpipe_record_bid() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.id IS DISTINCT FROM OLD.id THEN
    UPDATE campaign_bids SET campaign_id = NEW.id WHERE campaign_id = OLD.id;
  END IF;
  IF TG_OP = 'INSERT' OR NEW.bid IS DISTINCT FROM OLD.bid THEN
    INSERT INTO campaign_bids (campaign_id, bid) VALUES (NEW.id, NEW.bid);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION adpipe_forget_bids() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  DELETE FROM campaign_bids WHERE campaign_id IN (SELECT id FROM adpipe_old_campaigns);
  RETURN NULL;
END $$;
