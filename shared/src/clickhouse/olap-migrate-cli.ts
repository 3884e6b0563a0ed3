import { parseConfig, settings } from "../config/config.ts";
import { createLogger } from "../config/logger.ts";
import { runMain } from "../config/main.ts";
import { createClickHouse } from "./clickhouse.ts";
import { migrateOlap } from "./olap-migrate.ts";

runMain(async () => {
  const config = parseConfig({
    CLICKHOUSE_URL: settings.CLICKHOUSE_URL,
    CLICKHOUSE_USER: settings.CLICKHOUSE_USER,
    CLICKHOUSE_PASSWORD: settings.CLICKHOUSE_PASSWORD,
    CLICKHOUSE_DATABASE: settings.CLICKHOUSE_DATABASE,
    CLICKHOUSE_CLUSTER: settings.CLICKHOUSE_CLUSTER,
    LOG_LEVEL: settings.LOG_LEVEL,
  });
  const client = createClickHouse({
    url: config.CLICKHOUSE_URL,
    user: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
  });
  try {
    await migrateOlap(
      client,
      config.CLICKHOUSE_DATABASE,
      createLogger("olap-migrate", config.LOG_LEVEL),
      undefined,
      { cluster: config.CLICKHOUSE_CLUSTER },
    );
  } finally {
    await client.close();
  }
});
