import { parseConfig, settings } from "../config/config.ts";
import { createLogger } from "../config/logger.ts";
import { runMain } from "../config/main.ts";
import { migrateOltp } from "./migrate.ts";

runMain(async () => {
  const config = parseConfig({ DATABASE_URL: settings.DATABASE_URL, LOG_LEVEL: settings.LOG_LEVEL });
  await migrateOltp(config.DATABASE_URL, createLogger("migrate", config.LOG_LEVEL));
});
