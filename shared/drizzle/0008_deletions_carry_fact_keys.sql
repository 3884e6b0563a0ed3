-- A deleted or moved impression or click records the campaign_id and created_at of the version it
-- removes, so its tombstone names the (campaign, day) the fact leaves: downstream, what a delete
-- takes away is known from the delete itself, even after ClickHouse merged the old version away
-- (docs/events.md, "Delta messages"). Null for the other tables, for truncates, and for deletes
-- recorded before this migration.
ALTER TABLE "adpipe_deletion" ADD COLUMN "campaign_id" integer;--> statement-breakpoint
ALTER TABLE "adpipe_deletion" ADD COLUMN "created_at" timestamp;--> statement-breakpoint
-- As in 0005; a move's deletion now carries the old campaign and time. CREATE OR REPLACE resets the
-- function's attributes, so SECURITY DEFINER and its search_path are said again (0006).
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
