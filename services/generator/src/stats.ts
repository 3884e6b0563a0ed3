import type { Pool } from "@adpipe/shared/pg";

export interface CampaignStats {
  id: number;
  name: string;
  advertiser: string;
  impressions: number;
  clicks: number;
  ctr: number;
}

export interface Stats {
  advertisers: number;
  campaigns: number;
  impressions: number;
  clicks: number;
  /** Rows of the bid history (PostgreSQL's triggers write one per new campaign or bid change). */
  campaign_bids: number;
  /** Overall clicks / impressions × 100, or null with no impressions (the original printed none). */
  ctr: number | null;
  campaignDetails: CampaignStats[];
}

const pct = (clicks: number, impressions: number) => (impressions > 0 ? (clicks / impressions) * 100 : 0);

/** The figures the original `stats` printed; per-campaign counts are aggregated per table, not joined. */
export async function readStats(pool: Pool): Promise<Stats> {
  const counts = await pool.query<{
    advertisers: number;
    campaigns: number;
    impressions: number;
    clicks: number;
    campaign_bids: number;
  }>(
    `SELECT (SELECT count(*) FROM advertiser)::int AS advertisers,
            (SELECT count(*) FROM campaign)::int AS campaigns,
            (SELECT count(*) FROM impressions)::int AS impressions,
            (SELECT count(*) FROM clicks)::int AS clicks,
            (SELECT count(*) FROM campaign_bids)::int AS campaign_bids`,
  );
  const details = await pool.query<Omit<CampaignStats, "ctr">>(
    `SELECT c.id, c.name, a.name AS advertiser,
            coalesce(i.n, 0)::int AS impressions, coalesce(k.n, 0)::int AS clicks
     FROM campaign c
     JOIN advertiser a ON a.id = c.advertiser_id
     LEFT JOIN (SELECT campaign_id, count(*) AS n FROM impressions GROUP BY campaign_id) i ON i.campaign_id = c.id
     LEFT JOIN (SELECT campaign_id, count(*) AS n FROM clicks GROUP BY campaign_id) k ON k.campaign_id = c.id
     ORDER BY c.id`,
  );
  const totals = counts.rows[0] ?? {
    advertisers: 0,
    campaigns: 0,
    impressions: 0,
    clicks: 0,
    campaign_bids: 0,
  };
  return {
    ...totals,
    ctr: totals.impressions > 0 ? pct(totals.clicks, totals.impressions) : null,
    // bigint ids come back as text (node-postgres keeps int8 exact); ids stay below 2^53 (MAX_ID).
    campaignDetails: details.rows.map((r) => ({ ...r, id: Number(r.id), ctr: pct(r.clicks, r.impressions) })),
  };
}

const pad = (value: string | number, width: number) => String(value).padEnd(width);

/** The original tool's text layout, line for line. */
export function formatStats(stats: Stats): string {
  const lines = [
    "=== Database Statistics ===",
    `Advertisers: ${stats.advertisers}`,
    `Campaigns: ${stats.campaigns}`,
    `Impressions: ${stats.impressions}`,
    `Clicks: ${stats.clicks}`,
  ];
  if (stats.ctr !== null) lines.push(`Overall CTR: ${stats.ctr.toFixed(2)}%`);
  lines.push("", "=== Campaign Details ===");
  lines.push(
    `${pad("ID", 5)} ${pad("Name", 20)} ${pad("Advertiser", 15)} ${pad("Impressions", 12)} ${pad("Clicks", 8)} ${pad("CTR", 6)}`,
  );
  lines.push("-".repeat(70));
  for (const c of stats.campaignDetails) {
    lines.push(
      `${pad(c.id, 5)} ${pad(c.name.slice(0, 20), 20)} ${pad(c.advertiser.slice(0, 15), 15)} ${pad(c.impressions, 12)} ${pad(c.clicks, 8)} ${c.ctr.toFixed(2)}%`,
    );
  }
  return lines.join("\n");
}
