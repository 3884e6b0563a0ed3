-- Change capture for the extractor. Inserts are stamped by the column defaults (no trigger on the
-- bulk path); updates, deletes and truncates by the triggers below.

-- An UPDATE takes a new version after it holds the row lock (BEFORE ROW triggers run on the locked
-- row), so two transactions updating one row get versions in their commit order.
CREATE OR REPLACE FUNCTION adpipe_stamp_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id IS DISTINCT FROM OLD.id THEN
    INSERT INTO adpipe_deletion (table_name, row_id) VALUES (TG_TABLE_NAME, OLD.id);
  END IF;
  NEW._version := nextval('adpipe_version_seq');
  NEW._xid := pg_current_xact_id();
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION adpipe_record_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO adpipe_deletion (table_name, row_id) SELECT TG_TABLE_NAME, id FROM adpipe_old_rows;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION adpipe_record_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO adpipe_deletion (table_name, row_id) VALUES (TG_TABLE_NAME, NULL);
  RETURN NULL;
END $$;
--> statement-breakpoint
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['advertiser', 'campaign', 'impressions', 'clicks'] LOOP
    EXECUTE format('CREATE TRIGGER adpipe_stamp_update BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION adpipe_stamp_update()', t);
    EXECUTE format('CREATE TRIGGER adpipe_record_delete AFTER DELETE ON %I REFERENCING OLD TABLE AS adpipe_old_rows FOR EACH STATEMENT EXECUTE FUNCTION adpipe_record_delete()', t);
    EXECUTE format('CREATE TRIGGER adpipe_record_truncate AFTER TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION adpipe_record_truncate()', t);
  END LOOP;
END $$;
