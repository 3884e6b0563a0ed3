import { counter, histogram, type Registry, SECOND_BUCKETS } from "@adpipe/shared/metrics";
import type { Operations } from "./operations.ts";

/**
 * The operations with Prometheus counters around them: rows written per table, operations by
 * outcome, and their durations. Callers (HTTP, simulation) use the wrapped object unchanged.
 */
export function instrumentOperations(ops: Operations, registry: Registry): Operations {
  const rows = counter(registry, "adpipe_generator_rows_total", "Rows the generator wrote", ["table"]);
  const runs = counter(registry, "adpipe_generator_operations_total", "Generator operations", [
    "operation",
    "outcome",
  ]);
  const seconds = histogram(
    registry,
    "adpipe_generator_operation_duration_seconds",
    "Duration of generator operations",
    SECOND_BUCKETS,
    ["operation"],
  );
  async function timed<T>(operation: string, run: () => Promise<T>, count: (r: T) => Record<string, number>) {
    const end = seconds.startTimer({ operation });
    try {
      const result = await run();
      for (const [table, n] of Object.entries(count(result))) rows.inc({ table }, n);
      runs.inc({ operation, outcome: "ok" });
      return result;
    } catch (err) {
      runs.inc({ operation, outcome: "error" });
      throw err;
    } finally {
      end();
    }
  }
  return {
    advertisers: (count) =>
      timed(
        "advertisers",
        () => ops.advertisers(count),
        (ids) => ({ advertiser: ids.length }),
      ),
    campaigns: (id, count) =>
      timed(
        "campaigns",
        () => ops.campaigns(id, count),
        (ids) => ({ campaign: ids.length }),
      ),
    impressions: (id, count) =>
      timed(
        "impressions",
        () => ops.impressions(id, count),
        (n) => ({ impressions: n }),
      ),
    clicks: (id, ratio) =>
      timed(
        "clicks",
        () => ops.clicks(id, ratio),
        (n) => ({ clicks: n }),
      ),
    batch: (input) =>
      timed(
        "batch",
        () => ops.batch(input),
        (r) => ({
          advertiser: r.advertiserIds.length,
          campaign: r.campaignIds.length,
          impressions: r.impressions,
          clicks: r.clicks,
        }),
      ),
    reset: () =>
      timed(
        "reset",
        () => ops.reset(),
        () => ({}),
      ),
  };
}
