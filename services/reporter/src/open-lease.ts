import { hostname } from "node:os";
import { streams } from "@adpipe/shared/contract";
import type { Logger } from "@adpipe/shared/logger";
import type { NatsConnection } from "nats";
import type { ReporterConfig } from "./config.ts";
import { createLease, type LeaseOptions } from "./lease.ts";

/** This reporter's name in the lease: REPORTER_INSTANCE_ID, else host name and port (pid for port 0). */
export const instanceId = (
  config: Pick<ReporterConfig, "REPORTER_INSTANCE_ID" | "PORT">,
  host = hostname(),
  pid = process.pid,
) => config.REPORTER_INSTANCE_ID ?? `${host}:${config.PORT === 0 ? `pid-${pid}` : config.PORT}`;

/**
 * The lease on the namespace's bucket (made by the provisioning step, or by index.ts with
 * NATS_PROVISION). Its NATS calls time out within a third of the TTL, so a hung call never
 * outlives a renewal period.
 */
export async function openLease(o: {
  nc: NatsConnection;
  config: Pick<
    ReporterConfig,
    "ADPIPE_NAMESPACE" | "REPORTER_LEASE_TTL_MS" | "REPORTER_INSTANCE_ID" | "PORT"
  >;
  logger: Logger;
  onActive: LeaseOptions["onActive"];
  onStandby: LeaseOptions["onStandby"];
}) {
  const ttlMs = o.config.REPORTER_LEASE_TTL_MS;
  const js = o.nc.jetstream({ timeout: Math.max(200, Math.floor(ttlMs / 3)) });
  const kv = await js.views.kv(streams(o.config.ADPIPE_NAMESPACE).reporterLease, {
    history: 1,
    bindOnly: true,
  });
  return createLease({
    kv,
    instance: instanceId(o.config),
    ttlMs,
    logger: o.logger,
    onActive: o.onActive,
    onStandby: o.onStandby,
  });
}
