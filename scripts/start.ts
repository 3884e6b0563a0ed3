// `bun start`: for now, migrate PostgreSQL, generate a first batch when it is empty, and print
// the original tool's statistics. The full pipeline (extractor, loader, reporter) joins here as
// those services land.
import { parseConfig, settings } from "@adpipe/shared/config";
import { createLogger } from "@adpipe/shared/logger";
import { runMain } from "@adpipe/shared/main";
import { migrateOltp } from "@adpipe/shared/migrate";
import { createPool } from "@adpipe/shared/pg";
import { createOperations } from "../services/generator/src/operations.ts";
import { formatStats, readStats } from "../services/generator/src/stats.ts";

runMain(async () => {
  const config = parseConfig({ DATABASE_URL: settings.DATABASE_URL, LOG_LEVEL: settings.LOG_LEVEL });
  const logger = createLogger("start", config.LOG_LEVEL);
  await migrateOltp(config.DATABASE_URL, logger);
  const pool = createPool({ connectionString: config.DATABASE_URL, max: 2, logger });
  try {
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM campaign");
    if (!rows[0]?.n) {
      const r = await createOperations(pool).batch({
        advertisers: 2,
        campaigns: 3,
        impressions: 1000,
        ctr: 0.1,
      });
      logger.info("generated a first batch", {
        campaigns: r.campaignIds.length,
        impressions: r.impressions,
        clicks: r.clicks,
      });
    }
    console.log(formatStats(await readStats(pool)));
  } finally {
    await pool.end();
  }
});
