// The reporter's decisions, as pure functions of its state: what a heal pass does next, how far
// a pass may move the heal watermark, when failing heal rebuilds give way to a full rebuild, when
// start-up needs a full rebuild, and how a rebuild's key set is widened. reporter.ts runs them;
// decisions.test.ts checks them without PostgreSQL, NATS or ClickHouse.
import type { LoadedEvent } from "@adpipe/shared/messages/loaded";
import { type Touched, touchedSize } from "./touched.ts";

/** Unreported batches one heal pass takes (more wait for the next pass). */
export const HEAL_BATCH_LIMIT = 5000;
/** A batch's loaded_batches record may land this long after its loaded_at (a slow insert). */
export const HEAL_MARGIN_MS = 60_000;

export interface HealState {
  /** Every batch loaded before this (ClickHouse's epoch ms) is reported: a heal pass reads from here. */
  healedThroughMs: number;
  /** Heal rebuilds failed in a row. */
  failures: number;
  /** Events set aside whose batches no full rebuild has reported yet. */
  setAside: LoadedEvent[];
}

export const initialHealState = (): HealState => ({ healedThroughMs: 0, failures: 0, setAside: [] });

/** What the next heal pass does: a full rebuild while events are set aside, else the keyed pass. */
export const nextHealStep = (s: HealState): "full-for-set-aside" | "keyed" =>
  s.setAside.length > 0 ? "full-for-set-aside" : "keyed";

/**
 * How young a batch may be and still be left to its loaded event: the configured grace, or three
 * times the last rebuild (a batch loaded during a long rebuild waits behind it), at most a minute.
 */
export const healGraceMs = (configured: number, lastRebuildMs = 0) =>
  Math.round(Math.max(configured, Math.min(60_000, 3 * lastRebuildMs)));

/**
 * Where the heal watermark may move once a pass that found `batches` succeeds: everything loaded
 * before the pass's grace, less a margin for records still being written. A pass that hit the
 * batch limit left some behind: it does not move.
 */
export function healReach(o: {
  batches: number;
  passAtMs: number;
  graceMs: number;
  healedThroughMs: number;
}) {
  return o.batches < HEAL_BATCH_LIMIT ? o.passAtMs - o.graceMs - HEAL_MARGIN_MS : o.healedThroughMs;
}

export type HealAction =
  /** The event loop set these aside after repeated failures. */
  | { type: "set-aside"; events: LoadedEvent[] }
  /** A full rebuild reported these set-aside events. */
  | { type: "set-aside-healed"; events: LoadedEvent[] }
  /** A keyed pass found nothing, or rebuilt what it found: the watermark moves to `reach`. */
  | { type: "pass-succeeded"; reach: number }
  /** A keyed pass's rebuild of `events` failed. */
  | { type: "pass-failed"; events: LoadedEvent[]; maxAttempts: number };

/**
 * The heal state after `action`. `escalated` is set when failing heal rebuilds reached
 * `maxAttempts`: their events join the set-aside ones, healed by a full rebuild from the next pass.
 */
export function reduceHeal(s: HealState, action: HealAction): { state: HealState; escalated: boolean } {
  switch (action.type) {
    case "set-aside":
      return { state: { ...s, setAside: [...s.setAside, ...action.events] }, escalated: false };
    case "set-aside-healed":
      return {
        state: { ...s, setAside: s.setAside.filter((e) => !action.events.includes(e)) },
        escalated: false,
      };
    case "pass-succeeded":
      return {
        state: { ...s, failures: 0, healedThroughMs: Math.max(s.healedThroughMs, action.reach) },
        escalated: false,
      };
    case "pass-failed": {
      const failures = s.failures + 1;
      if (failures < action.maxAttempts) return { state: { ...s, failures }, escalated: false };
      return { state: { ...s, failures: 0, setAside: [...s.setAside, ...action.events] }, escalated: true };
    }
  }
}

/** What the report tables held at start-up (`report-state.sql`). */
export interface StartupState {
  campaigns: number;
  reported: number;
  facts: number;
  counted: number;
  unpriced: number;
}

/**
 * Why start-up needs a full rebuild, or null: reports empty while campaigns exist; facts without
 * bucket counts (a database migrated to 0007); clicks without their cost (migrated to 0009).
 */
export function startupRebuildReason(s: StartupState | undefined): string | null {
  if (!s) return null;
  if (Number(s.campaigns) > 0 && Number(s.reported) === 0) return "reports were empty: full rebuild";
  if (Number(s.facts) > 0 && Number(s.counted) === 0) return "bucket counts were empty: full rebuild";
  if (Number(s.unpriced) > 0) return "clicks had no cost yet: full rebuild";
  return null;
}

/**
 * Widens a rebuild's keys in place: a new UTC date re-rates every campaign (days elapsed and
 * remaining, period status and pacing depend on it); past `maxKeys` one full pass is cheaper than
 * statements over that many literal keys.
 */
export function widenTouched(
  touched: Touched,
  o: { lastDate: string | null; date: string; maxKeys: number },
) {
  if (o.lastDate !== null && o.lastDate !== o.date) touched.allCampaigns = true;
  if (!touched.full && touchedSize(touched) > o.maxKeys) touched.full = true;
  return touched;
}
