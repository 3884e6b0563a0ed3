import { describe, expect, test } from "bun:test";
import { schemaChanges, tableRows } from "./pipeline-view.ts";

const now = new Date("2026-11-24T10:00:10Z");
const up = <T>(body: T) => ({ ok: true as const, status: 200, body });
const down = { ok: false as const, status: null, error: "no answer within 1000 ms" };

describe("tableRows", () => {
  test("PostgreSQL vs ClickHouse, pending, lag from the watermark's age", () => {
    const [advertiser, , impressions] = tableRows({
      now,
      stats: up({ advertisers: 3, campaigns: 12, impressions: 1000, clicks: 50 }),
      watermarks: up({
        watermarks: [
          { table: "advertiser", xid: "10", pendingXid: null, updatedAt: "2026-11-24T10:00:08.5Z" },
          { table: "impressions", xid: "12", pendingXid: null, updatedAt: "2026-11-24T10:00:09Z" },
        ],
      }),
      loaderStatus: up({
        tables: {
          impressions: {
            pending: 2,
            unacknowledged: 1,
            rowsLoaded: 900,
            errors: { transient: 1, rejected: 2 },
            consumer: { stalled_since: "2026-11-24T10:00:01.000Z", stall_recoveries: 2 },
          },
        },
      }),
      chCounts: { ok: true, counts: { advertiser: 3, impressions: 900 } },
    });
    expect(advertiser).toMatchObject({
      pg_rows: 3,
      ch_rows: 3,
      rows_behind: 0,
      lag_seconds: 1.5,
      pending: null,
      stalled_since: null,
    });
    expect(impressions).toMatchObject({
      watermark: "12",
      pending: 3,
      rows_loaded: 900,
      errors: 3,
      pg_rows: 1000,
      ch_rows: 900,
      rows_behind: 100,
      lag_seconds: 1,
      stalled_since: "2026-11-24T10:00:01.000Z",
      stall_recoveries: 2,
    });
  });

  test("a paused table says since when instead of a lag; freshness comes from the loader", () => {
    const [advertiser, , impressions] = tableRows({
      now,
      stats: up({ advertisers: 3, campaigns: 12, impressions: 1000, clicks: 50 }),
      watermarks: up({
        watermarks: [
          { table: "advertiser", xid: "10", pendingXid: null, updatedAt: "2026-11-24T10:00:08.5Z" },
          {
            table: "impressions",
            xid: "12",
            pendingXid: null,
            updatedAt: "2026-11-24T09:00:00Z",
            pausedSince: "2026-11-24T09:00:01.000Z",
          },
        ],
      }),
      loaderStatus: up({
        tables: {
          advertiser: { freshness: { committedBy: "2026-11-24T10:00:07Z", seconds: 0.1234, at: "" } },
        },
      }),
      chCounts: { ok: true, counts: {} },
    });
    expect([advertiser?.paused_since, advertiser?.lag_seconds, advertiser?.freshness_seconds]).toEqual([
      null,
      1.5,
      0.123,
    ]);
    expect([impressions?.paused_since, impressions?.lag_seconds, impressions?.freshness_seconds]).toEqual([
      "2026-11-24T09:00:01.000Z",
      null,
      null,
    ]);
  });

  test("a service that is down gives nulls (shown as –), not zeros", () => {
    const rows = tableRows({
      now,
      stats: down,
      watermarks: down,
      loaderStatus: down,
      chCounts: { ok: false, error: "refused" },
    });
    expect(rows.map((r) => r.table)).toEqual([
      "advertiser",
      "campaign",
      "impressions",
      "clicks",
      "campaign_bids",
    ]);
    for (const r of rows)
      expect([r.pg_rows, r.ch_rows, r.rows_behind, r.lag_seconds, r.pending, r.watermark]).toEqual([
        null,
        null,
        null,
        null,
        null,
        null,
      ]);
  });

  test("a table stopped on a schema change says since when and why; the loader's schema changes pass through", () => {
    const blocked = { since: "2026-11-24T10:00:02.000Z", message: "clicks.cost is text in PostgreSQL, ..." };
    const change = {
      table: "clicks",
      change: "blocked",
      column: "cost",
      pgType: "text",
      from: "Int32",
      to: "Nullable(String)",
      at: "2026-11-24T10:00:02.000Z",
    };
    const loaderStatus = up({ tables: { clicks: { schema_blocked: blocked } }, schema_changes: [change] });
    const rows = tableRows({
      now,
      stats: down,
      watermarks: down,
      loaderStatus,
      chCounts: { ok: false, error: "x" },
    });
    expect(rows.map((r) => r.schema_blocked)).toEqual([null, null, null, blocked, null]);
    expect(schemaChanges(loaderStatus)).toEqual([change]);
    expect(schemaChanges(down)).toEqual([]);
    expect(schemaChanges(up({ tables: {} }))).toEqual([]);
  });
});
