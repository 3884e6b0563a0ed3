import type { Pool } from "../../shared/src/pg.ts";

const fmt = (n: number) => n.toLocaleString("en");

/** The live one-line status: rows per table in PostgreSQL (and, as they join, downstream). */
export function createStatus({ pool }: { pool: Pool }) {
  return {
    async line(): Promise<string> {
      const { rows } = await pool.query<Record<string, number>>(
        `SELECT (SELECT count(*) FROM advertiser)::int AS advertiser, (SELECT count(*) FROM campaign)::int AS campaign,
                (SELECT count(*) FROM impressions)::int AS impressions, (SELECT count(*) FROM clicks)::int AS clicks`,
      );
      const pg = rows[0] ?? {};
      return `postgres: ${Object.entries(pg)
        .map(([t, n]) => `${t} ${fmt(n)}`)
        .join(", ")}`;
    },
  };
}
