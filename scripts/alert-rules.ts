// Prints adpipe's Prometheus alert rules with the thresholds of the environment (ADPIPE_ALERT_*,
// docs/operations.md#alerts): `bun run alerts:rules > compose/prometheus/adpipe-rules.yml`.
// A bad value stops it with one line naming the variable.
import { ConfigError } from "@adpipe/shared/config";
import { loadThresholds, renderRules } from "./lib/alert-rules.ts";

if (import.meta.main) {
  try {
    process.stdout.write(renderRules(loadThresholds()));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(2);
  }
}
