-- The bid history is written by the database itself, so every client's bid change is recorded
-- (the original Python generator's too) and a click can be priced at the bid in force when it
-- happened (docs/reporter.md, "Spend and cost"). The functions run with their owner's rights
-- (SECURITY DEFINER, as in 0006): no client needs a right on campaign_bids to change a bid.

-- A new campaign, or a new bid, adds a row from now on; a campaign whose id changes keeps its history.
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
CREATE TRIGGER adpipe_record_bid AFTER INSERT OR UPDATE OF bid, id ON campaign
FOR EACH ROW EXECUTE FUNCTION adpipe_record_bid();
--> statement-breakpoint
-- A deleted campaign's history goes with it (ids could be reused after a reset).
CREATE OR REPLACE FUNCTION adpipe_forget_bids() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  DELETE FROM campaign_bids WHERE campaign_id IN (SELECT id FROM adpipe_old_campaigns);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER adpipe_forget_bids AFTER DELETE ON campaign
REFERENCING OLD TABLE AS adpipe_old_campaigns FOR EACH STATEMENT EXECUTE FUNCTION adpipe_forget_bids();
--> statement-breakpoint
-- A reset truncates campaign (the original's alone, ours with the other tables): the history too.
CREATE OR REPLACE FUNCTION adpipe_truncate_bids() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  TRUNCATE campaign_bids;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER adpipe_truncate_bids AFTER TRUNCATE ON campaign
FOR EACH STATEMENT EXECUTE FUNCTION adpipe_truncate_bids();
--> statement-breakpoint
-- Change capture for the extractor, as for the other tracked tables (0003, 0007).
CREATE TRIGGER adpipe_stamp_update BEFORE UPDATE ON campaign_bids
FOR EACH ROW EXECUTE FUNCTION adpipe_stamp_update();
--> statement-breakpoint
CREATE TRIGGER adpipe_record_delete AFTER DELETE ON campaign_bids
REFERENCING OLD TABLE AS adpipe_old_rows FOR EACH STATEMENT EXECUTE FUNCTION adpipe_record_delete();
--> statement-breakpoint
CREATE TRIGGER adpipe_record_truncate AFTER TRUNCATE ON campaign_bids
FOR EACH STATEMENT EXECUTE FUNCTION adpipe_record_truncate();
--> statement-breakpoint
CREATE TRIGGER adpipe_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON campaign_bids
FOR EACH STATEMENT EXECUTE FUNCTION adpipe_notify_change();
--> statement-breakpoint
-- What existed before: the history is unknown, so every campaign starts with its bid of now; a
-- click older than a campaign's first row is priced at that first bid.
INSERT INTO campaign_bids (campaign_id, bid) SELECT id, bid FROM campaign ORDER BY id;
--> statement-breakpoint
-- Readers only: the generator sees it (stats), the extractor publishes it; only the triggers write.
GRANT SELECT ON campaign_bids TO adpipe_generator, adpipe_extractor;
--> statement-breakpoint
GRANT SELECT ON SEQUENCE campaign_bids_id_seq TO adpipe_extractor;
