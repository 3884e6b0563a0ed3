import { olapValue } from "@adpipe/shared/olap-range";
import type { Pool } from "@adpipe/shared/pg";
import type { ClickHouseSide } from "./sides.ts";

/** impressions and clicks of one key: `campaign|YYYY-MM-DD` (a day) or `campaign` (totals). */
export type Figures = Map<string, { impressions: number; clicks: number }>;

const add = (m: Figures, key: string, field: "impressions" | "clicks", n: number) => {
  const f = m.get(key) ?? { impressions: 0, clicks: 0 };
  f[field] += n;
  m.set(key, f);
};

/**
 * PostgreSQL's figures: per (campaign, UTC day) and per campaign, counted one id range at a time
 * (a sequential, bounded read) or, for a few campaigns, through the campaign_id index. Every
 * campaign PostgreSQL has gets a totals key, with zeros when it has no facts.
 */
export async function postgresFigures(
  pool: Pool,
  chunkIds: number,
  campaigns?: number[],
  onChunk?: () => void,
): Promise<Figures> {
  const out: Figures = new Map();
  const { rows: cs } = await pool.query<{ id: number }>(
    campaigns ? "SELECT id FROM campaign WHERE id = ANY($1::bigint[])" : "SELECT id FROM campaign",
    campaigns ? [campaigns] : [],
  );
  for (const c of cs) out.set(String(c.id), { impressions: 0, clicks: 0 });
  for (const table of ["impressions", "clicks"] as const) {
    const select = `SELECT campaign_id, to_char(${olapValue("created_at")}, 'YYYY-MM-DD') AS day, count(*)::int AS n FROM ${table}`;
    const group = "GROUP BY 1, 2";
    const collect = (rows: { campaign_id: number; day: string | null; n: number }[]) => {
      for (const r of rows) {
        add(out, String(r.campaign_id), table, r.n);
        if (r.day) add(out, `${r.campaign_id}|${r.day}`, table, r.n);
      }
    };
    if (campaigns) {
      const { rows } = await pool.query(`${select} WHERE campaign_id = ANY($1::bigint[]) ${group}`, [
        campaigns,
      ]);
      collect(rows);
      continue;
    }
    // Chunk by chunk from the next id there is (an index lookup), not through every possible id:
    // 64-bit ids may leave gaps of billions (a sequence set forward, ids given by a client).
    const nextId = async (from: number): Promise<number | null> => {
      const { rows } = await pool.query<{ id: string | null }>(
        `SELECT min(id)::text AS id FROM ${table} WHERE id >= $1`,
        [from],
      );
      return rows[0]?.id == null ? null : Number(rows[0].id);
    };
    for (
      let from = await nextId(Number.MIN_SAFE_INTEGER);
      from !== null;
      from = await nextId(from + chunkIds)
    ) {
      onChunk?.();
      const { rows } = await pool.query(
        `${select} WHERE id >= $1 AND id < $2 AND campaign_id IS NOT NULL ${group}`,
        [from, from + chunkIds],
      );
      collect(rows);
    }
  }
  return out;
}

/** The report tables' figures, as readers see them (FINAL). */
export async function reportFigures(
  ch: ClickHouseSide,
  daily: string,
  totals: string,
  campaigns: number[] = [],
) {
  const out: Figures = new Map();
  const d = await ch.select<{ campaign_id: number; day: string; impressions: number; clicks: number }>(
    daily,
    {
      campaigns,
    },
  );
  for (const r of d) {
    const f = { impressions: Number(r.impressions), clicks: Number(r.clicks) };
    if (f.impressions !== 0 || f.clicks !== 0) out.set(`${r.campaign_id}|${r.day}`, f);
  }
  const t = await ch.select<{ campaign_id: number; impressions: number; clicks: number }>(totals, {
    campaigns,
  });
  for (const r of t)
    out.set(String(r.campaign_id), { impressions: Number(r.impressions), clicks: Number(r.clicks) });
  return out;
}

/** Keys whose figures differ (a day absent on one side counts as zero; a campaign absent differs). */
export function differingKeys(pg: Figures, reports: Figures): string[] {
  const keys = new Set<string>();
  const zero = { impressions: 0, clicks: 0 };
  for (const [k, f] of pg) {
    const r = reports.get(k) ?? (k.includes("|") ? zero : undefined);
    if (!r || r.impressions !== f.impressions || r.clicks !== f.clicks) keys.add(k);
  }
  for (const [k, r] of reports) {
    if (pg.has(k)) continue;
    if (k.includes("|") ? r.impressions !== 0 || r.clicks !== 0 : true) keys.add(k);
  }
  return [...keys].sort();
}

export const campaignOf = (key: string) => Number(key.split("|")[0]);
