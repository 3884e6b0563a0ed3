import { listen } from "@adpipe/shared/http";
import { createLogger } from "@adpipe/shared/logger";
import { onShutdown, runMain } from "@adpipe/shared/main";
import { createRegistry } from "@adpipe/shared/metrics";
import { migrateOltp } from "@adpipe/shared/migrate";
import { createPool } from "@adpipe/shared/pg";
import { securityFrom } from "@adpipe/shared/security";
import { createApp } from "./app.ts";
import { loadConfig } from "./config.ts";
import { instrumentOperations } from "./metrics.ts";
import { createOperations } from "./operations.ts";
import { createRealisticStep } from "./realistic-step.ts";
import { createSimulation } from "./simulation.ts";

runMain(async () => {
  const config = loadConfig();
  const logger = createLogger("generator", config.LOG_LEVEL);
  if (config.DATABASE_MIGRATE) await migrateOltp(config.DATABASE_URL, logger);
  const pool = createPool({
    connectionString: config.DATABASE_URL,
    applicationName: "adpipe-generator",
    logger,
  });
  const registry = createRegistry("generator");
  const ops = instrumentOperations(createOperations(pool), registry);
  const realistic = createRealisticStep({ pool });
  const simulation = createSimulation({
    ops,
    pool,
    logger,
    intervalSeconds: config.SIMULATE_INTERVAL_SECONDS,
    ...(config.SIMULATE_MODE === "realistic" ? { step: realistic.step } : {}),
  });
  const app = createApp({
    security: securityFrom(config),
    pool,
    ops,
    simulation,
    logger,
    registry,
    realistic,
  });
  const server = listen(config, app.fetch, { idleTimeout: 0 });
  logger.info("listening", { url: `http://${config.HOST}:${server.port}` });
  if (config.SIMULATE) simulation.start();

  onShutdown(async (signal) => {
    logger.info("stopping", { signal });
    await simulation.stop();
    await server.stop();
    await pool.end();
  });
});
