import { bool, parseConfig, seconds, settings } from "@adpipe/shared/config";
import { z } from "zod";

export function loadConfig(env: Record<string, string | undefined> = process.env) {
  return parseConfig(
    {
      DATABASE_URL: settings.DATABASE_URL,
      PORT: settings.PORT.default(3001),
      HOST: settings.HOST,
      ADPIPE_ALLOWED_HOSTS: settings.ADPIPE_ALLOWED_HOSTS,
      ADPIPE_API_TOKEN: settings.ADPIPE_API_TOKEN,
      ADPIPE_READ_TOKEN: settings.ADPIPE_READ_TOKEN,
      LOG_LEVEL: settings.LOG_LEVEL,
      /** Apply the PostgreSQL migrations at start; false where a least-privilege user runs it. */
      DATABASE_MIGRATE: bool.default(true),
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
