-- An impression or click that moves (its campaign_id or created_at changes) is recorded as a
-- delete of its old version, followed by the new version. Downstream, the move then reads as
-- "this row left its old campaign and day", so aggregates keyed by campaign and day (the
-- reporter's) recompute the old key too, even after ClickHouse merged the old version away.
-- The tombstone takes its version before the new row does, so the new row wins by version.
CREATE OR REPLACE FUNCTION adpipe_stamp_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id IS DISTINCT FROM OLD.id THEN
    INSERT INTO adpipe_deletion (table_name, row_id) VALUES (TG_TABLE_NAME, OLD.id);
  ELSIF TG_TABLE_NAME IN ('impressions', 'clicks') THEN
    -- Only these tables have the columns; the branch is not evaluated for the others.
    IF (NEW.campaign_id, NEW.created_at) IS DISTINCT FROM (OLD.campaign_id, OLD.created_at) THEN
      INSERT INTO adpipe_deletion (table_name, row_id) VALUES (TG_TABLE_NAME, OLD.id);
    END IF;
  END IF;
  NEW._version := nextval('adpipe_version_seq');
  NEW._xid := pg_current_xact_id();
  RETURN NEW;
END $$;
