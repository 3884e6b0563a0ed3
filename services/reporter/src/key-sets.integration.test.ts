import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestClickHouse, type TestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
import { bindKeySets } from "./key-sets.ts";
import { createRebuilder } from "./rebuild.ts";
import { loadQueries } from "./sql.ts";
import { dayKey, dayParams, emptyTouched } from "./touched.ts";

// Key sets larger than any URL a server accepts (clickhouse-server's http_max_uri_size is 1 MiB):
// 60,000 (campaign, day) keys over 30,000 campaigns, rebuilt in one keyed pass.

let ch: TestClickHouse;
beforeAll(async () => {
  ch = await startTestClickHouse();
  await migrateOlap(ch.client, ch.database);
});
afterAll(() => ch.stop());

test("a rebuild of 60,000 keys: more than 1 MiB of keys, all in the body", async () => {
  const queries = loadQueries();
  const touched = emptyTouched();
  for (let c = 1; c <= 30_000; c++) {
    touched.campaigns.add(c);
    for (const fact of ["impressions", "clicks"] as const) {
      touched.factDays[fact].add(dayKey(c, "2026-11-27"));
      touched.factDays[fact].add(dayKey(c, "2026-11-28"));
    }
  }
  const params = { version: "7", report_date: "2026-11-28", full: 0, ...dayParams(touched) };
  // What the same keys would have been as URL parameters: past any server's URI limit.
  const asUrl = new URLSearchParams(
    Object.entries(params).map(([k, v]): [string, string] => [
      `param_${k}`,
      Array.isArray(v) ? `[${v.map((x) => `'${x}'`)}]` : String(v),
    ]),
  ).toString();
  expect(asUrl.length).toBeGreaterThan(1_048_576);
  expect(bindKeySets(queries["rebuild-impressions"], params).query_params).toEqual({
    version: "7",
    report_date: "2026-11-28",
    full: 0,
    min_date: "2026-11-27",
    max_date: "2026-11-28",
  });

  const written = await createRebuilder(ch.client, queries).write(touched, 7n, "2026-11-28");
  expect(written).toHaveLength(5);
  const count = async (table: string) => {
    const rs = await ch.client.query({
      query: `SELECT count() AS n FROM ${table} WHERE _version = 7`,
      format: "JSONEachRow",
    });
    return Number(((await rs.json()) as { n: string }[])[0]?.n);
  };
  // No facts or campaigns exist: every key gets its tombstone, one row per key.
  expect(await count("advertiser_campaigns_impressions")).toBe(60_000);
  expect(await count("advertiser_campaigns_daily_ctr_report")).toBe(60_000);
  expect(await count("advertiser_campaigns_totals_report")).toBe(30_000);
}, 60_000);
