import { expect, test } from "bun:test";
import type { LoadedEvent } from "@adpipe/shared/messages/loaded";
import {
  HEAL_BATCH_LIMIT,
  HEAL_MARGIN_MS,
  healGraceMs,
  healReach,
  initialHealState,
  nextHealStep,
  reduceHeal,
  startupRebuildReason,
  widenTouched,
} from "./decisions.ts";
import { emptyTouched } from "./touched.ts";

const event = (batch: string): LoadedEvent => ({
  table: "impressions",
  batchIds: [batch],
  kinds: ["upsert"],
  rows: 1,
  watermark: "10",
  windows: [{ from: "1", to: "10" }],
  loadedAt: "2026-12-07T00:00:00.000Z",
});

test("a heal pass rebuilds keyed until events are set aside, then a full rebuild until it heals them", () => {
  let s = initialHealState();
  expect(nextHealStep(s)).toBe("keyed");
  const [a, b] = [event("a"), event("b")];
  s = reduceHeal(s, { type: "set-aside", events: [a] }).state;
  s = reduceHeal(s, { type: "set-aside", events: [b] }).state;
  expect(nextHealStep(s)).toBe("full-for-set-aside");
  // A full rebuild that reported `a` only (b was set aside while it ran) leaves b for the next.
  s = reduceHeal(s, { type: "set-aside-healed", events: [a] }).state;
  expect(s.setAside).toEqual([b]);
  s = reduceHeal(s, { type: "set-aside-healed", events: [b] }).state;
  expect(nextHealStep(s)).toBe("keyed");
});

test("failing heal rebuilds escalate to a full rebuild at maxAttempts, and the count starts again", () => {
  let s = initialHealState();
  const events = [event("x")];
  const outcomes: boolean[] = [];
  for (let i = 0; i < 3; i++) {
    const next = reduceHeal(s, { type: "pass-failed", events, maxAttempts: 3 });
    s = next.state;
    outcomes.push(next.escalated);
  }
  expect(outcomes).toEqual([false, false, true]);
  expect({ failures: s.failures, setAside: s.setAside }).toEqual({ failures: 0, setAside: events });
  // A success in between resets the count.
  let t = reduceHeal(initialHealState(), { type: "pass-failed", events, maxAttempts: 2 }).state;
  t = reduceHeal(t, { type: "pass-succeeded", reach: 0 }).state;
  expect(reduceHeal(t, { type: "pass-failed", events, maxAttempts: 2 }).escalated).toBe(false);
});

test("the heal watermark only moves forward, and not past a pass that hit the batch limit", () => {
  const passAtMs = 10_000_000;
  const reach = healReach({ batches: 10, passAtMs, graceMs: 5000, healedThroughMs: 0 });
  expect(reach).toBe(passAtMs - 5000 - HEAL_MARGIN_MS);
  expect(healReach({ batches: HEAL_BATCH_LIMIT, passAtMs, graceMs: 5000, healedThroughMs: 42 })).toBe(42);
  let s = reduceHeal(initialHealState(), { type: "pass-succeeded", reach }).state;
  s = reduceHeal(s, { type: "pass-succeeded", reach: reach - 1 }).state;
  expect(s.healedThroughMs).toBe(reach);
});

test("the heal grace follows a long last rebuild, within a minute", () => {
  expect(healGraceMs(1050)).toBe(1050);
  expect(healGraceMs(1050, 100)).toBe(1050);
  expect(healGraceMs(1050, 9000)).toBe(27_000);
  expect(healGraceMs(1050, 60_000)).toBe(60_000);
});

test("start-up rebuilds in full only when the report tables are empty or predate a migration", () => {
  const healthy = { campaigns: 3, reported: 3, facts: 10, counted: 10, unpriced: 0 };
  expect(startupRebuildReason(healthy)).toBeNull();
  expect(startupRebuildReason(undefined)).toBeNull();
  expect(startupRebuildReason({ ...healthy, campaigns: 0, reported: 0 })).toBeNull();
  expect(startupRebuildReason({ ...healthy, reported: 0 })).toBe("reports were empty: full rebuild");
  expect(startupRebuildReason({ ...healthy, counted: 0 })).toBe("bucket counts were empty: full rebuild");
  expect(startupRebuildReason({ ...healthy, unpriced: 2 })).toBe("clicks had no cost yet: full rebuild");
});

test("a new date re-rates every campaign; too many keys make one full pass", () => {
  const t = emptyTouched();
  t.campaigns.add(1);
  widenTouched(t, { lastDate: "2026-12-06", date: "2026-12-06", maxKeys: 10 });
  expect({ all: t.allCampaigns, full: t.full }).toEqual({ all: false, full: false });
  widenTouched(t, { lastDate: "2026-12-06", date: "2026-12-07", maxKeys: 10 });
  expect(t.allCampaigns).toBe(true);
  const many = emptyTouched();
  for (let c = 1; c <= 11; c++) many.campaigns.add(c);
  expect(widenTouched(many, { lastDate: null, date: "2026-12-07", maxKeys: 10 }).full).toBe(true);
});
