import type { Logger } from "@adpipe/shared/logger";
import type { LoadedEvent } from "@adpipe/shared/messages/loaded";
import {
  HEAL_BATCH_LIMIT,
  type HealAction,
  healGraceMs,
  healReach,
  initialHealState,
  nextHealStep,
  reduceHeal,
} from "./decisions.ts";
import { describeFailure } from "./failure.ts";
import { failureNow, type LastFailure } from "./last-failure.ts";
import { eventsFor, type Progress } from "./progress.ts";
import type { Rebuilder } from "./rebuild.ts";
import type { RebuildRequest, RebuildResult, RebuildRunner } from "./run-rebuild.ts";
import { planEvents } from "./touched.ts";

export interface HealerDeps {
  progress: Progress;
  rebuilder: Rebuilder;
  runner: RebuildRunner;
  logger: Logger;
  maxAttempts: number;
  healIntervalMs: number;
  /** The event loop's coalesce window: a batch's loaded event normally comes within it. */
  coalesceMs: number;
  /** The scheduler's rebuild (lease check, last error cleared on success). */
  rebuild(r: RebuildRequest): Promise<RebuildResult>;
  /** A full rebuild that also reports `extra` (set-aside events whose rows are loaded). */
  fullNow(reason: RebuildResult["reason"], extra: LoadedEvent[]): Promise<RebuildResult>;
  /** The full rebuild after set-aside events failed: what /ready reports as the last rebuild error. */
  onFullFailed(failure: NonNullable<LastFailure>): void;
}

/**
 * The heal step's I/O around decisions.ts's reducer: the heal state, the keyed pass over loaded
 * but unreported batches, and the full rebuild after events were set aside. The caller
 * serialises the passes with every other rebuild.
 */
export function createHealer(deps: HealerDeps) {
  const { progress, rebuilder, logger, maxAttempts } = deps;
  // A batch this young is left to its loaded event, which is normally a coalesce window away
  // (widened by healGraceMs after slow rebuilds).
  const baseGraceMs = Math.min(deps.healIntervalMs, deps.coalesceMs + 1000);
  let state = initialHealState();
  const counts = { runs: 0, batches: 0, last_at: null as string | null, last_batches: 0 };
  const apply = (action: HealAction) => {
    const next = reduceHeal(state, action);
    state = next.state;
    return next.escalated;
  };

  /**
   * Heals the reports after events were set aside: a full rebuild, which does not depend on
   * whatever made their keyed rebuild fail. Until one succeeds /ready says so, and every heal tick
   * tries again (a full rebuild, never the set-aside events' own rebuild).
   */
  async function healSetAside(): Promise<RebuildResult | null> {
    const events = state.setAside;
    if (events.length === 0) return null;
    try {
      const result = await deps.fullNow("set-aside", events);
      apply({ type: "set-aside-healed", events });
      logger.info("reports healed by a full rebuild after events were set aside", {
        events: events.length,
        durationMs: result.durationMs,
      });
      return result;
    } catch (err) {
      const failure = describeFailure(err);
      deps.onFullFailed(failureNow(`full rebuild after set-aside events: ${failure.error}`));
      logger.warn("full rebuild after set-aside events failed; the next heal check retries it", {
        ...failure,
        err,
      });
      throw err;
    }
  }

  /**
   * Rebuilds the windows of batches that are loaded (recorded in loaded_batches, so their rows
   * are in the entity tables) but not reported: their loaded event was lost, or is stuck. Exact
   * for the same reason an event is: the touched keys come from the windows' stored versions.
   */
  async function healKeyed(): Promise<RebuildResult | null> {
    const grace = healGraceMs(baseGraceMs, deps.runner.last()?.durationMs);
    const passAtMs = await progress.serverNowMs();
    const batches = await progress.unreported(grace, HEAL_BATCH_LIMIT, state.healedThroughMs);
    counts.runs++;
    counts.last_at = new Date().toISOString();
    counts.last_batches = batches.length;
    const reach = healReach({
      batches: batches.length,
      passAtMs,
      graceMs: grace,
      healedThroughMs: state.healedThroughMs,
    });
    if (batches.length === 0) {
      apply({ type: "pass-succeeded", reach });
      return null;
    }
    const events = eventsFor(batches);
    const plan = planEvents(events);
    let result: RebuildResult;
    try {
      const touched = await rebuilder.findTouched(plan);
      result = await deps.rebuild({ touched, reason: "heal", covered: plan.watermarks, reported: events });
    } catch (err) {
      // The same bound as for events: these batches' keyed rebuild keeps failing (or their events
      // were set aside before a restart): a full rebuild covers them instead, from the next check.
      if (apply({ type: "pass-failed", events, maxAttempts }))
        logger.error("heal rebuild failed repeatedly; a full rebuild heals the reports instead", {
          ...describeFailure(err),
          attempts: maxAttempts,
          batches: batches.length,
        });
      throw err;
    }
    counts.batches += batches.length;
    apply({ type: "pass-succeeded", reach });
    logger.warn("healed reports: loaded batches had no loaded event", {
      batches: batches.length,
      tables: Object.keys(plan.windows),
      full: result.full,
    });
    return result;
  }

  return {
    /** The heal counters for /reports/status. */
    counts,
    state: () => state,
    /** Events the event loop set aside: the next pass heals them with a full rebuild. */
    setAside(events: LoadedEvent[]): void {
      apply({ type: "set-aside", events });
    },
    healSetAside,
    /** One heal pass: a full rebuild while events are set aside, else the keyed pass. */
    pass: (): Promise<RebuildResult | null> =>
      nextHealStep(state) === "full-for-set-aside" ? healSetAside() : healKeyed(),
  };
}

export type Healer = ReturnType<typeof createHealer>;
