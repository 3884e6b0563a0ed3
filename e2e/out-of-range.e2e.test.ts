// Every value PostgreSQL takes reaches ClickHouse: times beyond ClickHouse's range (infinity,
// -infinity, years before 1900 or after 2299) are loaded as the range's ends
// (shared/src/clickhouse/olap-range.ts), never dead-lettered, and the reports, the verifier and an
// independent PostgreSQL computation agree on how they count.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Verifier } from "@adpipe/extractor";
import { TABLES } from "@adpipe/shared/contract";
import { createPool, type Pool } from "@adpipe/shared/pg";
import { createPipelineWorld, createTestVerifier, type PipelineWorld } from "@adpipe/testing";
import { compareEverything } from "@adpipe/testing/truth";

let w: PipelineWorld;
let verifier: Verifier;
/** PostgreSQL seen through the mapping: views over the real tables, first on the search path. */
let mapped: Pool;

beforeAll(async () => {
  w = await createPipelineWorld();
  verifier = createTestVerifier(w);
  // The documented mapping written out by hand, independently of the code under test.
  const clamp = (c: string, type: string, min: string, max: string) =>
    `CASE WHEN ${c} < ${type} '${min}' THEN ${type} '${min}' WHEN ${c} > ${type} '${max}' THEN ${type} '${max}' ELSE ${c} END AS ${c}`;
  const ts = (c: string) => clamp(c, "timestamp", "1900-01-01 00:00:00", "2299-12-31 23:59:59.999999");
  const date = (c: string) => clamp(c, "date", "1900-01-01", "2299-12-31");
  await w.pool.query(`CREATE SCHEMA mapped;
    CREATE VIEW mapped.impressions AS SELECT id, campaign_id, ${ts("created_at")} FROM public.impressions;
    CREATE VIEW mapped.clicks AS SELECT id, campaign_id, ${ts("created_at")} FROM public.clicks;
    CREATE VIEW mapped.campaign AS SELECT id, name, bid, budget, ${date("start_date")}, ${date("end_date")},
      advertiser_id, ${ts("updated_at")}, ${ts("created_at")} FROM public.campaign;
    CREATE VIEW mapped.advertiser AS SELECT id, name, ${ts("updated_at")}, ${ts("created_at")} FROM public.advertiser;`);
  const url = new URL(w.db.url);
  url.searchParams.set("options", "-c search_path=mapped,public");
  mapped = createPool({ connectionString: url.toString(), max: 2 });
}, 120_000);

afterAll(async () => {
  await verifier?.stop();
  await mapped?.end();
  await w?.close();
});

const TIMES = ["infinity", "-infinity", "3000-01-01 12:00:00", "1800-01-01 00:00:00", "2026-12-01 10:00:00"];

test("impressions and clicks at infinity, -infinity, 3000-01-01 and 1800-01-01 arrive, count in the reports as documented, and verify clean", async () => {
  const q = (sql: string) => w.pool.query(sql);
  await q("INSERT INTO advertiser (name, created_at, updated_at) VALUES ('far', 'infinity', '-infinity')");
  await q(`INSERT INTO campaign (name, bid, budget, start_date, end_date, advertiser_id, created_at)
           VALUES ('open-ended', 1.00, 100.00, '-infinity', 'infinity', 1, '3000-06-01'),
                  ('normal', 2.00, 50.00, CURRENT_DATE - 3, CURRENT_DATE + 3, 1, now())`);
  for (const [i, t] of TIMES.entries())
    await q(
      `INSERT INTO impressions (campaign_id, created_at) SELECT ${1 + (i % 2)}, '${t}' FROM generate_series(1, ${i + 1})`,
    );
  await q(
    "INSERT INTO clicks (campaign_id, created_at) VALUES (1, 'infinity'), (1, '-infinity'), (2, '2999-12-31')",
  );
  await w.idle();

  // Nothing set aside, every row there.
  expect((await w.loader.deadLetters.list(10)).total).toBe(0);
  const count = async (table: string) => {
    const rs = await w.chs.client.query({
      query: `SELECT count() AS n FROM ${table}_current`,
      format: "JSONEachRow",
    });
    return Number(((await rs.json()) as { n: string }[])[0]?.n);
  };
  expect(await count("impressions")).toBe(15);
  expect(await count("clicks")).toBe(3);
  const rs = await w.chs.client.query({
    query:
      "SELECT toString(created_at) AS t, toUInt32(count()) AS n FROM impressions_current GROUP BY t ORDER BY t",
    format: "JSONEachRow",
  });
  expect(await rs.json()).toEqual([
    { t: "1900-01-01 00:00:00.000000", n: 6 },
    { t: "2026-12-01 10:00:00.000000", n: 5 },
    { t: "2299-12-31 23:59:59.999999", n: 4 },
  ]);

  // Each campaign's totals equal PostgreSQL's own counts; every KPI, daily row and entity equals
  // the independent computation over PostgreSQL read through the mapping.
  const totals = (await w.get("/kpis/campaigns")) as {
    campaign_id: number;
    impressions: number;
    clicks: number;
  }[];
  const pg = await w.pool.query<{ id: number; i: number; k: number }>(
    `SELECT c.id, (SELECT count(*) FROM impressions WHERE campaign_id = c.id)::int AS i,
            (SELECT count(*) FROM clicks WHERE campaign_id = c.id)::int AS k FROM campaign c ORDER BY c.id`,
  );
  expect(totals.map((t) => [t.campaign_id, t.impressions, t.clicks])).toEqual(
    pg.rows.map((r) => [Number(r.id), r.i, r.k]), // bigint comes back as text
  );
  await compareEverything({ pool: mapped, get: (path) => w.get(path), clickhouse: w.chs.client, now: w.now });

  // The verifier reads PostgreSQL through the same mapping: nothing differs, nothing is repaired.
  const run = await verifier.verify();
  expect(run.tables.map((t) => [t.table, t.driftFound, t.rowsRepaired, t.error ?? null])).toEqual(
    TABLES.map((t) => [t, 0, 0, null]),
  );
  expect(run.reports?.clean).toBe(true);
  expect(run.clean).toBe(true);
}, 120_000);
