import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export type { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Batch sizes in rows: from a single row up to an initial-load insert (LOADER_MAX_INSERT_BYTES). */
export const ROW_BUCKETS = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];
/** Durations in seconds: a few milliseconds to a minute. */
export const SECOND_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * Freshness in seconds, from a change's commit to where it is visible: tens of milliseconds when
 * all is well, up to a quarter of an hour behind a stall (the alert thresholds sit between).
 */
export const FRESHNESS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900];

/** Seconds from `committedBy` (ISO-8601) to `now` (epoch ms); never negative (another host's clock). */
export const secondsSince = (committedBy: string, now: number) =>
  Math.max(0, (now - Date.parse(committedBy)) / 1000);

/**
 * One Prometheus registry per service (not the global one, so tests can build several apps in
 * one process), with the process metrics and a `service` label on everything.
 */
export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: "adpipe_" });
  // prom-client names these gauges `_total`, a counter's suffix (promtool check metrics warns);
  // the per-type gauges without it (adpipe_nodejs_active_handles{type=...}) carry the same numbers.
  for (const kind of ["handles", "requests", "resources"])
    registry.removeSingleMetric(`adpipe_nodejs_active_${kind}_total`);
  return registry;
}

export const counter = <L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[] = [],
) => new Counter<L>({ name, help, labelNames, registers: [registry] });

export const gauge = <L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[] = [],
  collect?: (this: Gauge<L>) => Promise<void> | void,
) => new Gauge<L>({ name, help, labelNames, registers: [registry], collect });

export const histogram = <L extends string>(
  registry: Registry,
  name: string,
  help: string,
  buckets: number[],
  labelNames: L[] = [],
) => new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] });

/** `adpipe_nats_connected`: 1 while the service's NATS connection is up (`natsConnected` in nats.ts). */
export function natsConnectionMetric(registry: Registry, connected: () => boolean): void {
  gauge(
    registry,
    "adpipe_nats_connected",
    "1 while the connection to NATS is up, 0 from a disconnect until the client has reconnected",
    [],
    function collect() {
      this.set(connected() ? 1 : 0);
    },
  );
}

/**
 * The stall watchdog's figures for the durable consumers a service pulls from: recoveries counted
 * as they happen, and whether each consumer is stalled now (read from `health` when scraped).
 */
export function consumerStallMetrics(
  registry: Registry,
  health: () => { consumer: string; stalled: boolean }[],
) {
  gauge(
    registry,
    "adpipe_consumer_stalled",
    "1 while the durable consumer receives nothing although messages wait for it (the watchdog is recreating its pull)",
    ["consumer"],
    function collect() {
      for (const h of health()) this.set({ consumer: h.consumer }, h.stalled ? 1 : 0);
    },
  );
  return counter(
    registry,
    "adpipe_consumer_stall_recoveries_total",
    "Pulls recreated because the durable consumer received nothing while messages waited for it",
    ["consumer"],
  );
}
