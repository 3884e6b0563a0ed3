CREATE INDEX "clicks_campaign_id_idx" ON "clicks" USING btree ("campaign_id");--> statement-breakpoint
CREATE INDEX "impressions_campaign_id_idx" ON "impressions" USING btree ("campaign_id");