-- The extractor wakes up when a change commits instead of only on its timer: every statement
-- that writes one of the four tables queues NOTIFY adpipe_changes with the table's name as the
-- payload. PostgreSQL delivers it only when the transaction commits (never for a rollback), and
-- once per transaction for equal payloads, so a bulk INSERT costs one notification. Polling
-- stays as the fallback (a listener that was disconnected misses notifications; the next timed
-- cycle finds the change anyway), so a lost notification delays, never loses, anything.
CREATE OR REPLACE FUNCTION adpipe_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('adpipe_changes', TG_TABLE_NAME);
  RETURN NULL;
END $$;
--> statement-breakpoint
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['advertiser', 'campaign', 'impressions', 'clicks'] LOOP
    EXECUTE format('CREATE TRIGGER adpipe_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION adpipe_notify_change()', t);
  END LOOP;
END $$;
