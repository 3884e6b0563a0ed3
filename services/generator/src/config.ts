import { bool, parseConfig, seconds, settings } from "@adpipe/shared/config";
import { z } from "zod";

export function loadConfig(env: Record<string, string | undefined> = process.env) {
  return parseConfig(
    {
      DATABASE_URL: settings.DATABASE_URL,
      PORT: settings.PORT.default(3001),
      LOG_LEVEL: settings.LOG_LEVEL,
      /** Start the continuous simulation at start-up (what Airflow's generate_new_data DAG did). */
      SIMULATE: bool.default(false),
      /** Seconds between simulated actions; the original DAG ran every 3 minutes. */
      SIMULATE_INTERVAL_SECONDS: seconds(1, 86_400).default(180),
      /**
       * `original`: the DAG's four random actions. `realistic`: ad-server delivery (flights in
       * progress, daily curve, pacing to budget); `bun start` uses it.
       */
      SIMULATE_MODE: z.enum(["original", "realistic"]).default("original"),
    },
    env,
  );
}

export type GeneratorConfig = ReturnType<typeof loadConfig>;
