// The fault suite's traffic: an ad platform writing without pause. Inserts of impressions and
// clicks interleaved over every campaign, bid changes, facts moved to another campaign, deletes,
// budget and flight changes, advertiser renames; each its own transaction. It keeps writing
// through faults: a failed transaction (PostgreSQL restarting, a session terminated) is counted
// and the next one tried after a short pause.
import type { Pool } from "@adpipe/shared/pg";

export interface WriterStats {
  transactions: number;
  failures: number;
  impressions: number;
  clicks: number;
}

/** 5 advertisers, `campaigns` campaigns whose flights span today, a first day of traffic. */
export async function seed(pool: Pool, campaigns = 50): Promise<number[]> {
  await pool.query(
    "INSERT INTO advertiser (name, created_at, updated_at) SELECT 'Advertiser ' || n, now(), now() FROM generate_series(1, 5) n",
  );
  const { rows } = await pool.query<{ id: number }>(
    `INSERT INTO campaign (name, bid, budget, start_date, end_date, advertiser_id, created_at, updated_at)
     SELECT 'Campaign ' || n, (0.5 + (n % 20) / 10.0)::numeric(10,2), (500 + n * 10)::numeric(10,2),
            CURRENT_DATE - (n % 7), CURRENT_DATE + 7 + (n % 5),
            (SELECT min(id) FROM advertiser) + n % 5, now(), now()
     FROM generate_series(1, $1::int) n RETURNING id`,
    [campaigns],
  );
  const ids = rows.map((r) => Number(r.id)); // bigint comes back as text
  await pool.query(
    `INSERT INTO impressions (campaign_id, created_at)
     SELECT ($1::bigint[])[1 + (n % $2::int)], now() - (n % 86400) * interval '1 second' FROM generate_series(1, 20000) n`,
    [ids, ids.length],
  );
  await pool.query(
    `INSERT INTO clicks (campaign_id, created_at)
     SELECT ($1::bigint[])[1 + (n % $2::int)], now() - (n % 86400) * interval '1 second' FROM generate_series(1, 300) n`,
    [ids, ids.length],
  );
  return ids;
}

/** Deterministic pseudo-random numbers (mulberry32): a run can be replayed with its seed. */
export function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One transaction of the mix, as SQL and parameters. */
export function nextWrite(
  random: () => number,
  campaigns: number[],
): { sql: string; params: unknown[]; rows?: [number, number] } {
  const c = () => campaigns[Math.floor(random() * campaigns.length)] as number;
  const r = random();
  if (r < 0.6) {
    const n = 10 + Math.floor(random() * 60);
    const ids = Array.from({ length: n }, c);
    return {
      sql: "INSERT INTO impressions (campaign_id, created_at) SELECT unnest($1::bigint[]), now()",
      params: [ids],
      rows: [n, 0],
    };
  }
  if (r < 0.75) {
    const n = 1 + Math.floor(random() * 3);
    return {
      sql: "INSERT INTO clicks (campaign_id, created_at) SELECT unnest($1::bigint[]), now()",
      params: [Array.from({ length: n }, c)],
      rows: [0, n],
    };
  }
  if (r < 0.83)
    return {
      sql: "UPDATE campaign SET bid = $1 WHERE id = $2",
      params: [(0.3 + random() * 3).toFixed(2), c()],
    };
  // A fact moved to another campaign (recorded as a delete of its old version plus the new one).
  if (r < 0.89)
    return {
      sql: `UPDATE impressions SET campaign_id = $1 WHERE id = (SELECT max(id) - $2::int FROM impressions)`,
      params: [c(), Math.floor(random() * 5000)],
    };
  if (r < 0.94)
    return {
      sql: `DELETE FROM impressions WHERE id = (SELECT max(id) - $1::int FROM impressions)`,
      params: [Math.floor(random() * 5000)],
    };
  if (r < 0.97)
    return {
      sql: `DELETE FROM clicks WHERE id = (SELECT max(id) - $1::int FROM clicks)`,
      params: [Math.floor(random() * 50)],
    };
  if (r < 0.99)
    return {
      sql: "UPDATE campaign SET budget = $1, end_date = end_date + $2::int WHERE id = $3",
      params: [(300 + random() * 2000).toFixed(2), Math.floor(random() * 3) - 1, c()],
    };
  return {
    sql: "UPDATE advertiser SET name = $1 WHERE id = (SELECT min(id) FROM advertiser) + $2::int",
    params: [`Advertiser ${Math.floor(random() * 1000)}`, Math.floor(random() * 5)],
  };
}

/** Writes until stopped, one transaction every `pauseMs`. */
export function startWriter(pool: Pool, campaigns: number[], o: { seed?: number; pauseMs?: number } = {}) {
  const random = rng(o.seed ?? 1);
  const stats: WriterStats = { transactions: 0, failures: 0, impressions: 0, clicks: 0 };
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const w = nextWrite(random, campaigns);
      try {
        await pool.query(w.sql, w.params);
        stats.transactions++;
        stats.impressions += w.rows?.[0] ?? 0;
        stats.clicks += w.rows?.[1] ?? 0;
        await Bun.sleep(o.pauseMs ?? 20);
      } catch {
        stats.failures++;
        await Bun.sleep(200);
      }
    }
  })();
  return {
    stats,
    async stop(): Promise<WriterStats> {
      stopped = true;
      await done;
      return stats;
    },
  };
}
