// The fault suite's table comparison (table-diff.ts) against real PostgreSQL and embedded
// ClickHouse holding the same rows, copied independently of the canonical text (each value as
// PostgreSQL prints it, mapped into ClickHouse's range): exact when they agree, and one row
// wrong in any compared column, lost, extra or shown twice by `_current` is found and counted.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestClickHouse, type TestClickHouse } from "@adpipe/clickhouse-embedded/testing";
import { TABLES, type TableName, UPSERT_COLUMNS } from "@adpipe/shared/contract";
import { migrateOlap } from "@adpipe/shared/olap-migrate";
import { olapValue } from "@adpipe/shared/olap-range";
import { createPool, type Pool } from "@adpipe/shared/pg";
import { createTestDatabase, type TestDatabase } from "@adpipe/shared/testing";
import { COMPARED_COLUMNS } from "./canonical.ts";
import { copyToClickHouse } from "./copy.ts";
import { compareTables } from "./exactness.ts";
import type { PostgresSumsCache } from "./pg-sums.ts";

let db: TestDatabase;
let pool: Pool;
let chs: TestClickHouse;
const BIG = 2n ** 40n;

/** Every row of `table` (or those `where` holds) into ClickHouse as version `version`. */
const copy = (table: TableName, where = "true", version = 1, deleted = 0) =>
  copyToClickHouse(pool, chs.client, table, { where, version, deleted });

async function seed() {
  await pool.query(`
    INSERT INTO advertiser (id, name, created_at, updated_at) VALUES
      (1, 'Acme', '2026-01-02 03:04:05.123456', '2026-01-03 00:00:00.000007'), (3, 'NoUpdate', now(), NULL), (2, 'Globex | ''quoted''', 'infinity', '-infinity'),
      (${BIG}, 'Big', '1800-01-01', '3000-01-01 00:00:00.5');
    INSERT INTO campaign (id, name, bid, budget, start_date, end_date, advertiser_id, created_at, updated_at) VALUES
      (1, 'C1', 1.50, 1000.05, '2026-01-01', '2026-12-31', 1, '2026-01-01', '2026-01-01 00:00:00.000001'),
      (2, 'C2', 0.01, 99999999.99, NULL, 'infinity', NULL, '1900-01-01', NULL),
      (3, 'C3', 2.00, 10.00, '1850-06-01', '2400-01-01', ${BIG}, now(), now());
    INSERT INTO impressions (id, campaign_id, created_at)
      SELECT n, 1 + n % 3, timestamp '2026-03-01' + n * interval '1.000001 second' FROM generate_series(1, 150000) n;
    INSERT INTO impressions (id, campaign_id, created_at) VALUES
      (${BIG}, 1, 'infinity'), (${BIG + 1n}, NULL, NULL), (${BIG + 70_000n}, 2, '-infinity'), (${BIG + 70_001n}, 3, '3000-01-01');
    INSERT INTO clicks (id, campaign_id, created_at)
      SELECT n, 1 + n % 3, timestamp '2026-03-01' + n * interval '7 second' FROM generate_series(1, 3000) n;
    INSERT INTO campaign_bids (id, campaign_id, bid, valid_from) VALUES
      (${BIG}, 1, 1.25, '2026-01-01'), (${BIG + 1n}, 1, 1.50, '2026-02-01 12:00:00.25'), (${BIG + 2n}, 2, 0.01, '-infinity');`);
  for (const t of TABLES) await copy(t);
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = createPool({ connectionString: db.url, max: 4 });
  chs = await startTestClickHouse();
  await migrateOlap(chs.client, chs.database);
  await seed();
}, 180_000);

afterAll(async () => {
  await pool?.end();
  await db?.drop();
  await chs?.stop();
});

const compare = (detail: boolean) => compareTables(pool, chs.client, { detail });
const zero = { lost: 0, extra: 0, wrong: 0 };
const counts = (d: { lost: number; extra: number; wrong: number }) => ({
  lost: d.lost,
  extra: d.extra,
  wrong: d.wrong,
});

/** Compares in both modes while `change` is in place; `undo` puts the rows back. */
async function whileChanged(table: TableName, change: () => Promise<unknown>, undo: () => Promise<unknown>) {
  await change();
  try {
    const quick = await compare(false);
    const detailed = await compare(true);
    return { quick, detailed, diff: counts(detailed.tables[table]) };
  } finally {
    await undo();
  }
}

test("every replicated column is compared", () => {
  for (const t of TABLES)
    expect({ t, columns: COMPARED_COLUMNS[t] }).toEqual({
      t,
      columns: UPSERT_COLUMNS[t].filter((c) => !c.startsWith("_")),
    });
});

test("the same rows on both sides (ids past 2^40, NULLs, times out of ClickHouse's range, microseconds, cents) are exact", async () => {
  for (const detail of [false, true]) {
    const r = await compare(detail);
    expect(r.exact).toBe(true);
    for (const t of TABLES) expect({ t, ...counts(r.tables[t]) }).toEqual({ t, ...zero });
    expect(r.sample).toEqual([]);
  }
});

/** A value different from `c`'s in PostgreSQL (a microsecond, a cent, a day, another row's id). */
const CHANGED: Record<string, string> = {
  name: "name || 'x'",
  created_at: "created_at + interval '1 microsecond'",
  updated_at: "updated_at + interval '1 microsecond'",
  valid_from: "valid_from + interval '1 microsecond'",
  bid: "bid + 0.01",
  budget: "budget + 0.01",
  start_date: "start_date + 1",
  end_date: "end_date + 1",
  campaign_id: "CASE WHEN campaign_id = 1 THEN 2 ELSE 1 END",
  advertiser_id: "CASE WHEN advertiser_id = 1 THEN 2 ELSE 1 END",
};

describe("one row wrong in one column", () => {
  for (const table of TABLES)
    for (const column of COMPARED_COLUMNS[table].filter((c) => c !== "id"))
      test(`${table}.${column}`, async () => {
        const target = `(SELECT min(id) FROM ${table} WHERE ${column} IS NOT NULL AND ${olapValue(column)} = ${column})`;
        const id = (await pool.query(`SELECT ${target}::text AS id`)).rows[0].id as string;
        const old = (await pool.query(`SELECT ${column}::text AS v FROM ${table} WHERE id = $1`, [id]))
          .rows[0].v;
        // A campaign's bid change adds a row to its bid history (a trigger): copied after the undo.
        const history = (await pool.query("SELECT string_agg(id::text, ',') AS ids FROM campaign_bids"))
          .rows[0].ids;
        const r = await whileChanged(
          table,
          () => pool.query(`UPDATE ${table} SET ${column} = ${CHANGED[column]} WHERE id = $1`, [id]),
          async () => {
            await pool.query(`UPDATE ${table} SET ${column} = $2 WHERE id = $1`, [id, old]);
            await copy("campaign_bids", `id NOT IN (${history})`);
          },
        );
        expect(r.quick.exact).toBe(false);
        expect(r.quick.tables[table].ranges).toBe(1);
        expect(r.detailed.exact).toBe(false);
        expect(r.diff).toEqual({ ...zero, wrong: 1 });
        expect(r.detailed.sample[0]).toBe(`${table}: 0 lost, 0 extra, 1 wrong`);
        expect(r.detailed.sample[1]).toStartWith(`${table} ${id} wrong: PostgreSQL `);
      });
});

test("two rows' contents swapped (each row's digest covers its id)", async () => {
  const swap = `UPDATE impressions i SET campaign_id = o.campaign_id, created_at = o.created_at
                FROM impressions o WHERE (i.id, o.id) IN ((10, 11), (11, 10))`;
  const r = await whileChanged(
    "impressions",
    () => pool.query(swap),
    () => pool.query(swap),
  );
  expect(r.quick.exact).toBe(false);
  expect(r.diff).toEqual({ ...zero, wrong: 2 });
});

test("a row missing from ClickHouse is lost", async () => {
  const r = await whileChanged(
    "impressions",
    () => pool.query(`INSERT INTO impressions (id, campaign_id, created_at) VALUES (${BIG + 5n}, 2, now())`),
    () => pool.query(`DELETE FROM impressions WHERE id = ${BIG + 5n}`),
  );
  expect(r.quick.exact).toBe(false);
  expect(r.quick.tables.impressions.lost).toBe(1);
  expect(r.diff).toEqual({ ...zero, lost: 1 });
  expect(r.detailed.sample[1]).toMatch(
    new RegExp(`^impressions ${BIG + 5n} lost: PostgreSQL ${BIG + 5n}\\|2\\|\\d+, ClickHouse none$`),
  );
});

test("thousands of rows missing over several ranges are each counted", async () => {
  const where = "id % 50 = 7";
  const r = await whileChanged(
    "impressions",
    () => copy("impressions", where, 2, 1),
    () => copy("impressions", where, 3, 0),
  );
  const n = Number((await pool.query(`SELECT count(*) AS n FROM impressions WHERE ${where}`)).rows[0].n);
  expect(n).toBeGreaterThan(2000);
  expect(r.quick.tables.impressions.ranges).toBe(3);
  expect(r.quick.tables.impressions.lost).toBe(n);
  expect(r.diff).toEqual({ ...zero, lost: n });
});

test("a row only in ClickHouse is extra", async () => {
  const row = (v: number, d: number) => ({
    id: String(BIG + 9n),
    campaign_id: "1",
    created_at: "2026-01-01 00:00:00",
    _version: v,
    _xid: v,
    _deleted: d,
  });
  const r = await whileChanged(
    "clicks",
    () => chs.client.insert({ table: "clicks", values: [row(2, 0)], format: "JSONEachRow" }),
    () => chs.client.insert({ table: "clicks", values: [row(3, 1)], format: "JSONEachRow" }),
  );
  expect(r.quick.exact).toBe(false);
  expect(r.diff).toEqual({ ...zero, extra: 1 });
  expect(r.detailed.sample[1]).toBe(
    `clicks ${BIG + 9n} extra: PostgreSQL none, ClickHouse ${BIG + 9n}|1|1767225600000000`,
  );
});

describe("a row shown twice by ClickHouse's _current view (two live versions)", () => {
  // The view as 0011 makes it, plus the first version of the rows `ids` again: two live versions.
  const view = (ids: string) =>
    chs.client.command({
      query: `CREATE OR REPLACE VIEW impressions_current AS SELECT id, campaign_id, created_at
              FROM impressions FINAL WHERE _version > (SELECT max(_version) FROM truncations WHERE table_name = 'impressions')
              UNION ALL SELECT id, campaign_id, created_at FROM impressions WHERE id IN (${ids}) AND _version = 1`,
    });
  const twice = (ids: string) =>
    whileChanged(
      "impressions",
      () => view(ids),
      () => view("-1"),
    );

  test("the same content twice", async () => {
    const r = await twice("1234");
    expect(r.quick.exact).toBe(false);
    expect(r.quick.tables.impressions.extra).toBe(1);
    expect(r.diff).toEqual({ ...zero, extra: 1 });
    expect(r.detailed.sample[1]).toMatch(
      /^impressions 1234 shown 2 times: PostgreSQL (1234\|\d\|\d+), ClickHouse \1 \+ \1$/,
    );
  });

  test("an old and a new version", async () => {
    await pool.query("UPDATE impressions SET campaign_id = 3 - campaign_id WHERE id = 4321");
    try {
      await copy("impressions", "id = 4321", 2);
      expect((await compare(true)).exact).toBe(true);
      const r = await twice("4321");
      expect(r.quick.exact).toBe(false);
      expect(r.diff).toEqual({ ...zero, extra: 1 });
      expect(r.detailed.sample[1]).toMatch(
        /^impressions 4321 shown 2 times: PostgreSQL 4321\|1\|(\d+), ClickHouse 4321\|1\|\1 \+ 4321\|2\|\1$/,
      );
    } finally {
      await pool.query("UPDATE impressions SET campaign_id = 3 - campaign_id WHERE id = 4321");
      await copy("impressions", "id = 4321", 3);
    }
  });

  test("two versions, neither PostgreSQL's", async () => {
    await pool.query("UPDATE impressions SET campaign_id = 3 WHERE id = 999");
    try {
      const r = await twice("999");
      expect(r.diff).toEqual({ ...zero, extra: 1, wrong: 1 });
    } finally {
      await pool.query("UPDATE impressions SET campaign_id = 1 WHERE id = 999");
    }
  });

  afterAll(() => view("-1"));
});

describe("PostgreSQL's sums kept between comparisons", () => {
  const cache: PostgresSumsCache = new Map();
  const compareKept = () => compareTables(pool, chs.client, { detail: false, cache });
  const flip = (sign: string) =>
    `UPDATE impressions SET created_at = created_at ${sign} interval '1 microsecond' WHERE id = 777`;
  let original: string;
  beforeAll(async () => {
    original = (await pool.query("SELECT created_at::text AS t FROM impressions WHERE id = 777")).rows[0].t;
  });
  const restore = () => pool.query("UPDATE impressions SET created_at = $1 WHERE id = 777", [original]);

  test("reused while nothing was committed, read again after a commit", async () => {
    expect((await compareKept()).timings.postgres).toBeNumber();
    const kept = await compareKept();
    expect(kept.exact).toBe(true);
    expect(
      kept.timings["postgres (advertiser, campaign, impressions, clicks, campaign_bids kept)"],
    ).toBeNumber();
    await pool.query(flip("+"));
    try {
      const after = await compareKept();
      expect(after.timings["postgres (advertiser, campaign, clicks, campaign_bids kept)"]).toBeNumber();
      expect(after.exact).toBe(false);
    } finally {
      await restore();
    }
    expect((await compareKept()).exact).toBe(true);
  });

  test("a transaction in progress during one comparison and committed before the next", async () => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(flip("+"));
      expect((await compareKept()).exact).toBe(true);
      await client.query("COMMIT");
      expect((await compareKept()).exact).toBe(false);
    } finally {
      await client.query("ROLLBACK"); // after a failed expect: no transaction left open (else a warning)
      client.release();
      await restore();
    }
    expect((await compareKept()).exact).toBe(true);
  });
});

test("exact again once every change is undone", async () => {
  expect((await compare(true)).exact).toBe(true);
});
