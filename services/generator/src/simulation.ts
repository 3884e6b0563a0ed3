import type { Logger } from "@adpipe/shared/logger";
import type { Pool } from "@adpipe/shared/pg";
import type { Operations } from "./operations.ts";

export const ACTIONS = ["advertisers", "campaigns", "impressions", "clicks"] as const;
export type Action = (typeof ACTIONS)[number];

export interface SimulationState {
  running: boolean;
  intervalSeconds: number;
  runs: number;
  failures: number;
  nextRunAt: string | null;
  last: { action: string; at: string; result?: unknown; error?: string } | null;
}

export interface SimulationOptions {
  ops: Operations;
  pool: Pool;
  logger: Logger;
  intervalSeconds: number;
  random?: () => number;
  /** Replaces the four random actions (the realistic mode's delivery step). */
  step?: () => Promise<{ action: string; result: unknown }>;
}

const between = (random: () => number, min: number, max: number) =>
  min + Math.floor(random() * (max - min + 1));

/**
 * What Airflow's generate_new_data DAG did: every interval, after a random delay within it, one
 * of the four actions chosen at random, on a random existing advertiser or campaign. An action
 * whose prerequisite is missing (no campaign yet) falls back to creating that prerequisite.
 */
export function createSimulation({
  ops,
  pool,
  logger,
  intervalSeconds,
  random = Math.random,
  step,
}: SimulationOptions) {
  const state: SimulationState = {
    running: false,
    intervalSeconds,
    runs: 0,
    failures: 0,
    nextRunAt: null,
    last: null,
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const pick = async (sql: string): Promise<number | undefined> => {
    const id = (await pool.query<{ id: string }>(sql)).rows[0]?.id;
    return id === undefined ? undefined : Number(id);
  };

  async function perform(action: Action): Promise<{ action: Action; result: unknown }> {
    if (action === "clicks") {
      const id = await pick(
        "SELECT id FROM campaign c WHERE EXISTS (SELECT 1 FROM impressions i WHERE i.campaign_id = c.id) ORDER BY random() LIMIT 1",
      );
      if (id !== undefined) {
        const ratio = Math.round((0.01 + random() * 0.09) * 1000) / 1000;
        return { action, result: { campaign_id: id, ratio, clicks: await ops.clicks(id, ratio) } };
      }
      return perform("impressions");
    }
    if (action === "impressions") {
      const id = await pick("SELECT id FROM campaign ORDER BY random() LIMIT 1");
      if (id !== undefined) {
        const count = between(random, 100, 1000);
        return { action, result: { campaign_id: id, impressions: await ops.impressions(id, count) } };
      }
      return perform("campaigns");
    }
    if (action === "campaigns") {
      const id = await pick("SELECT id FROM advertiser ORDER BY random() LIMIT 1");
      if (id !== undefined) {
        return {
          action,
          result: { advertiser_id: id, campaign_ids: await ops.campaigns(id, between(random, 1, 3)) },
        };
      }
      return perform("advertisers");
    }
    return { action, result: { advertiser_ids: await ops.advertisers(between(random, 1, 2)) } };
  }

  async function tick(): Promise<void> {
    const chosen = step ? "deliver" : (ACTIONS[Math.floor(random() * ACTIONS.length)] as Action);
    const at = new Date().toISOString();
    try {
      const { action, result } = step ? await step() : await perform(chosen as Action);
      state.last = { action, at, result };
      // A realistic step that delivered nothing (quiet hours, small campaigns) is not news.
      const quiet = step && Object.values(result as object).every((v) => v === 0);
      logger[quiet ? "debug" : "info"]("simulated", { action, ...(result as object) });
    } catch (err) {
      state.failures++;
      state.last = { action: chosen, at, error: err instanceof Error ? err.message : String(err) };
      logger.warn("simulation step failed", { action: chosen, err });
    }
    state.runs++;
  }

  function schedule(periodStart: number): void {
    const periodMs = state.intervalSeconds * 1000;
    const runAt = periodStart + Math.floor(random() * periodMs * 0.5);
    state.nextRunAt = new Date(runAt).toISOString();
    timer = setTimeout(
      () => {
        inFlight = tick().finally(() => {
          if (state.running) schedule(Math.max(Date.now(), periodStart + periodMs));
        });
      },
      Math.max(0, runAt - Date.now()),
    );
  }

  return {
    state: (): SimulationState => ({ ...state }),
    start(interval?: number): SimulationState {
      if (interval !== undefined) state.intervalSeconds = interval;
      if (!state.running) {
        state.running = true;
        schedule(Date.now());
      }
      return { ...state };
    },
    /** Stops scheduling and waits for an action already running. */
    async stop(): Promise<SimulationState> {
      state.running = false;
      state.nextRunAt = null;
      clearTimeout(timer);
      await inFlight;
      return { ...state };
    },
  };
}

export type Simulation = ReturnType<typeof createSimulation>;
