import { describe, expect, test } from "bun:test";
import type { LoadedEvent } from "@adpipe/shared/messages/loaded";
import {
  addFactKeys,
  addPair,
  dayParams,
  emptyTouched,
  MAX_PAIRS_PER_BUCKET,
  pairParams,
  planEvents,
  settlePairs,
  touchedSize,
  windowParams,
} from "./touched.ts";
import { createVersionClock } from "./version-clock.ts";

const event = (over: Partial<LoadedEvent>): LoadedEvent => ({
  table: "impressions",
  batchIds: ["b"],
  kinds: ["upsert"],
  rows: 1,
  watermark: "20",
  windows: [{ from: "10", to: "20" }],
  loadedAt: "2026-11-24T00:00:00Z",
  ...over,
});

test("a burst merges into windows per table, the highest watermark, and full on a truncate", () => {
  const plan = planEvents([
    event({}),
    event({ watermark: "30", windows: [{ from: "25", to: "30" }] }),
    event({ table: "campaign", kinds: ["truncate"], watermark: "5", windows: [{ from: "1", to: "5" }] }),
  ]);
  expect(plan.full).toBe(true);
  expect([...plan.deletes]).toEqual([]);
  expect([...planEvents([event({ kinds: ["upsert", "delete"] })]).deletes]).toEqual(["impressions"]);
  expect(plan.watermarks).toEqual({ impressions: 30n, campaign: 5n });
  expect(windowParams(plan.windows.impressions ?? [])).toEqual({
    from: 10n,
    to: 30n,
    froms: [10n, 25n],
    tos: [20n, 30n],
  });
});

test("the windows of thousands of batches (a heal after an outage) become their union: a range or two", () => {
  // Consecutive extractor cycles: adjacent windows, several batches of one window, out of order.
  const events = Array.from({ length: 3000 }, (_, i) =>
    event({ watermark: String(1001 + i), windows: [{ from: String(1000 + i), to: String(1001 + i) }] }),
  ).reverse();
  events.push(event({ watermark: "1500", windows: [{ from: "1499", to: "1500" }] }));
  events.push(event({ watermark: "9000", windows: [{ from: "8000", to: "9000" }] }));
  expect(planEvents(events).windows.impressions).toEqual([
    { from: 1000n, to: 4000n },
    { from: 8000n, to: 9000n },
  ]);
});

test("fact rows become campaign keys and day keys (no day without created_at)", () => {
  const t = emptyTouched();
  addFactKeys(t, "impressions", [
    { campaign_id: 3, date: "2026-11-20" },
    { campaign_id: 3, date: null },
  ]);
  addFactKeys(t, "clicks", [{ campaign_id: 4, date: "2026-11-21" }]);
  expect([...t.campaigns]).toEqual([3, 4]);
  // Each fact's daily table gets its own keys; the daily CTR report both.
  expect(dayParams(t, "impressions")).toMatchObject({ day_campaigns: [3], day_dates: ["2026-11-20"] });
  expect(dayParams(t, "clicks")).toMatchObject({ day_campaigns: [4], day_dates: ["2026-11-21"] });
  expect(dayParams(t)).toEqual({
    day_campaigns: [3, 4],
    day_dates: ["2026-11-20", "2026-11-21"],
    all_day_campaigns: [],
    day_campaign_ids: [3, 4],
    min_date: "2026-11-20",
    max_date: "2026-11-21",
  });
  t.allDayCampaigns.add(5);
  expect(dayParams(t)).toMatchObject({ day_campaign_ids: [3, 4, 5], min_date: "1900-01-01" });
});

test("versions grow past a stored version and past a clock that steps back", () => {
  let now = 1_000;
  const clock = createVersionClock(5_000_000n, () => now);
  expect(clock.next()).toBe(5_000_001n);
  now = 10_000;
  expect(clock.next()).toBe(10_000_000n);
  now = 9_000;
  expect(clock.next()).toBe(10_000_001n);
});

describe("(bucket, campaign) pairs", () => {
  test("a bucket recounted whole drops its pairs; one with too many campaigns becomes whole", () => {
    const t = emptyTouched();
    t.buckets.impressions.add(1);
    addPair(t, "impressions", 1, 5);
    addPair(t, "impressions", 2, 5);
    addPair(t, "impressions", 2, 6);
    for (let c = 1; c <= MAX_PAIRS_PER_BUCKET + 1; c++) addPair(t, "clicks", 3, c);
    addPair(t, "clicks", 4, 9);
    settlePairs(t);
    expect(t.pairs.impressions).toEqual(new Map([[2, new Set([5, 6])]]));
    expect([...t.buckets.impressions]).toEqual([1]);
    expect(t.pairs.clicks).toEqual(new Map([[4, new Set([9])]]));
    expect([...t.buckets.clicks]).toEqual([3]);
    expect(touchedSize(t)).toBe(1 + 2 + 1 + 1);
  });

  test("pairParams: parallel arrays by bucket, and each bucket once", () => {
    const pairs = new Map([
      [7, new Set([3, 1])],
      [2, new Set([4])],
    ]);
    expect(pairParams(pairs)).toEqual({
      pair_bucket_set: [2, 7],
      pair_buckets: [2, 7, 7],
      pair_campaigns: [4, 3, 1],
    });
  });
});
