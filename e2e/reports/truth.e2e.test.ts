import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createOperations, type Operations } from "@adpipe/generator";
import { authorised } from "@adpipe/shared/api-testing";
import { createPipelineWorld, type PipelineWorld } from "@adpipe/testing";
import { compareEverything as compareWith } from "@adpipe/testing/truth";

// The truth test: the real pipeline in-process; every KPI the API serves must equal the same KPI
// computed straight from PostgreSQL by the independent queries below.

let w: PipelineWorld;
let ops: Operations;

// A fixed report date two days ahead of the real one: the reporter is handed it (`today`), the
// PostgreSQL queries below take it as $1, so day-dependent KPIs (days elapsed, pacing,
// projection, delivery) are compared for a date that is not the server's now().
const REPORT_DATE = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
// The KPIs pace by the clock: 06:00 UTC of that date, a quarter of its day gone.
const NOW = new Date(`${REPORT_DATE}T06:00:00Z`);

beforeAll(async () => {
  w = await createPipelineWorld({ today: () => REPORT_DATE, now: () => NOW });
  ops = createOperations(w.pool);
});
afterAll(async () => {
  await w?.close();
});
const compareEverything = () =>
  compareWith({ pool: w.pool, get: (path) => w.get(path), reportDate: REPORT_DATE, now: () => NOW });

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("truth", () => {
  test("every KPI equals PostgreSQL's after a batch and a random mix of inserts, updates and deletes", async () => {
    const batch = await ops.batch({ advertisers: 3, campaigns: 3, impressions: 300, ctr: 0.1 });
    const ids = [...batch.campaignIds];
    // Reported first, so what follows is rebuilt incrementally on top of it.
    await w.idle();
    // Deletes pick rows loaded before the mix: a row inserted and deleted within one extractor
    // window arrives as a lone tombstone, which (safely) forces a full rebuild; this test wants
    // the incremental path under deletes too. The whole-campaign delete below covers the other.
    const loaded = (
      await w.pool.query("SELECT (SELECT max(id) FROM impressions) AS i, (SELECT max(id) FROM clicks) AS k")
    ).rows[0] as { i: number; k: number };
    const random = rng(Number(process.env.TRUTH_SEED ?? 42));
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)] as T;
    const q = (sql: string, params: unknown[] = []) => w.pool.query(sql, params);

    for (let step = 0; step < 40; step++) {
      const c = pick(ids);
      const r = random();
      if (r < 0.25) await ops.impressions(c, 1 + Math.floor(random() * 40));
      else if (r < 0.4) await ops.clicks(c, 0.02);
      else if (r < 0.5)
        await q("UPDATE campaign SET bid = $1, budget = $2 WHERE id = $3", [
          (0.5 + random() * 3).toFixed(2),
          (random() < 0.2 ? 0 : 20 + random() * 200).toFixed(2),
          c,
        ]);
      else if (r < 0.6) {
        const start = Math.floor(random() * 10) - 8;
        const len = Math.floor(random() * 12) - 2;
        await q(
          "UPDATE campaign SET start_date = CURRENT_DATE + $1::int, end_date = CURRENT_DATE + $2::int WHERE id = $3",
          [start, start + len, c],
        );
      } else if (r < 0.65) await q("UPDATE campaign SET start_date = NULL WHERE id = $1", [c]);
      else if (r < 0.75)
        await q(
          "DELETE FROM clicks WHERE id IN (SELECT id FROM clicks WHERE campaign_id = $1 AND id <= $2 ORDER BY random() LIMIT 3)",
          [c, loaded.k],
        );
      else if (r < 0.85)
        await q(
          "DELETE FROM impressions WHERE id IN (SELECT id FROM impressions WHERE campaign_id = $1 AND id <= $2 ORDER BY random() LIMIT 10)",
          [c, loaded.i],
        );
      else if (r < 0.95)
        await q("UPDATE advertiser SET name = name || 'x' WHERE id = $1", [pick(batch.advertiserIds)]);
      else await q("UPDATE campaign SET advertiser_id = $1 WHERE id = $2", [pick(batch.advertiserIds), c]);
      if (step === 10) {
        // Rows without created_at count in totals but on no day.
        await q("INSERT INTO impressions (campaign_id, created_at) VALUES ($1, NULL), ($1, NULL)", [c]);
        await q("INSERT INTO clicks (campaign_id, created_at) VALUES ($1, NULL)", [c]);
        await q(
          "UPDATE impressions SET created_at = NULL WHERE id = (SELECT min(id) FROM impressions WHERE campaign_id = $1)",
          [pick(ids)],
        );
      }
      if (step === 20) {
        // Everything so far is reported first (one or more incremental rebuilds, since the deletes
        // above only touch loaded rows), so the rows the campaign's delete removes are loaded rows
        // too, whatever the extractor's windows were.
        await w.idle();
        // A whole campaign goes: its clicks and impressions first (foreign keys).
        const gone = ids.splice(ids.indexOf(c), 1)[0];
        await q("DELETE FROM clicks WHERE campaign_id = $1", [gone]);
        await q("DELETE FROM impressions WHERE campaign_id = $1", [gone]);
        await q("DELETE FROM campaign WHERE id = $1", [gone]);
        await w.idle();
      }
      if (step % 10 === 0) await Bun.sleep(0);
    }
    await w.idle();
    const counts = await compareEverything();
    expect(counts.campaigns).toBe(8);
    // The bid changes above re-priced spend but not the clicks' cost: the two differ somewhere.
    const priced = (await w.get("/kpis/campaigns")) as { spend: number; cost: number }[];
    expect(priced.some((c) => c.spend !== c.cost)).toBe(true);
    expect(counts.days).toBeGreaterThan(8);
    const status = (await w.get("/reports/status")) as {
      counters: { rebuilds: number };
      rebuilds: { incremental: number; full: number };
    };
    expect(status.counters.rebuilds).toBeGreaterThanOrEqual(3);
    // Most were incremental (a row inserted and deleted within one window looks "lost": full);
    // steps 0-19 and steps 21-39 are each reported by at least one incremental rebuild.
    expect(status.rebuilds.incremental).toBeGreaterThanOrEqual(2);

    // Moves: impressions and clicks UPDATEd to another campaign or day. PostgreSQL's trigger
    // records each as a delete of the old version plus the new one, so the old (campaign, day)
    // is rebuilt too, even once ClickHouse merged the old version away.
    for (let step = 0; step < 6; step++) {
      const table = step % 2 === 0 ? "impressions" : "clicks";
      await q(
        `UPDATE ${table} SET campaign_id = $1, created_at = created_at - interval '1 day'
         WHERE id IN (SELECT id FROM ${table} WHERE campaign_id = $2 ORDER BY random() LIMIT 5)`,
        [pick(ids), pick(ids)],
      );
    }
    await w.idle();
    await compareEverything();

    // Delivery flags of every kind: three campaigns with clicks get a four-day flight begun the day
    // before the report date, so at 06:00 1.25 days of 4 are gone (projection = cost x 3.2), and a
    // budget of 2, 1 and 0.5 x that projection (pacing is on cost, the clicks at the bid in force).
    const withClicks = (
      await q(
        "SELECT campaign_id FROM clicks WHERE campaign_id IS NOT NULL GROUP BY campaign_id ORDER BY campaign_id LIMIT 3",
      )
    ).rows.map((r) => Number(r.campaign_id)); // bigint comes back as text
    expect(withClicks).toHaveLength(3);
    const costs = new Map(
      ((await w.get("/kpis/campaigns")) as { campaign_id: number; cost: number }[]).map((c) => [
        c.campaign_id,
        c.cost,
      ]),
    );
    for (const [i, factor] of [2, 1, 0.5].entries())
      await q(
        "UPDATE campaign SET start_date = $1::date - 1, end_date = $1::date + 2, budget = $2 WHERE id = $3",
        [REPORT_DATE, ((costs.get(withClicks[i] as number) ?? 0) * 3.2 * factor).toFixed(2), withClicks[i]],
      );
    await w.idle();
    const flagged = await compareEverything();
    expect([...flagged.flags]).toEqual(expect.arrayContaining(["under", "on_track", "over"]));

    // A forced full rebuild changes nothing that is read.
    const res = await w.app.request("/reports/rebuild", { method: "POST", headers: authorised });
    expect(res.status).toBe(200);
    const rebuilt = (await res.json()) as { full: boolean; campaigns: number; days: number };
    expect(rebuilt.full).toBe(true);
    const after = await compareEverything();
    // What it rebuilt, not 0: every campaign and (campaign, day) the reports hold.
    expect({ campaigns: rebuilt.campaigns, days: rebuilt.days }).toEqual({
      campaigns: after.campaigns,
      days: after.days,
    });
  }, 60_000);

  test("a reset (TRUNCATE) empties every report", async () => {
    await ops.reset();
    await w.idle();
    expect(await w.get("/kpis/campaigns")).toEqual([]);
    expect(await w.get("/kpis/daily")).toEqual([]);
    expect(await w.get("/kpis/advertisers")).toEqual([]);
    expect(await w.get("/kpis/pacing")).toEqual([]);
    expect(await w.get("/kpis/pacing/advertisers")).toEqual([]);
    expect(await w.get("/reports/advertiser_campaigns_daily_ctr_report")).toEqual([]);
  }, 30_000);
});
