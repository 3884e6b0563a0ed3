import { streams } from "@adpipe/shared/contract";
import type { Logger } from "@adpipe/shared/logger";
import {
  durableAck,
  durablePull,
  durableStallWatch,
  largestDelivery,
  type PullFn,
} from "@adpipe/shared/nats-pull";
import type { JetStreamClient, JetStreamManager } from "nats";
import type { ReporterConfig } from "./config.ts";
import { createReporterDeadLetters } from "./dead-letters.ts";
import { createEventLoop, type EventLoopOptions } from "./event-loop.ts";

export interface ReporterLoopDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  logger: Logger;
  config: Pick<ReporterConfig, "ADPIPE_NAMESPACE" | "REPORTER_COALESCE_MS" | "REPORTER_MAX_BACKOFF_MS"> &
    Partial<Pick<ReporterConfig, "REPORTER_ACK_WAIT_MS" | "ADPIPE_CONSUMER_STALL_MS">>;
  maxAttempts: number;
  maxPayload?: number;
  onStall?: () => void;
  wrapPull?: (pull: PullFn) => PullFn;
}

/** The event loop on the reporter's durable consumer of loaded events, wired to NATS. */
export function createReporterLoop(
  deps: ReporterLoopDeps,
  handlers: Pick<EventLoopOptions, "handle" | "onOutcome" | "onSetAside">,
): ReturnType<typeof createEventLoop> {
  const { js, config, logger } = deps;
  const namespace = config.ADPIPE_NAMESPACE;
  const stream = streams(namespace).events;
  const durable = streams(namespace).reporterConsumer;
  return createEventLoop({
    pull: (deps.wrapPull ?? ((pull: PullFn) => pull))(durablePull(js, stream, durable)),
    ack: durableAck(js),
    largestDeliveryBytes: largestDelivery(deps.maxPayload),
    stall: durableStallWatch({
      jsm: deps.jsm,
      stream,
      durable,
      afterMs: config.ADPIPE_CONSUMER_STALL_MS ?? 10_000,
      logger,
      onStall: deps.onStall,
    }),
    coalesceMs: config.REPORTER_COALESCE_MS,
    maxBackoffMs: config.REPORTER_MAX_BACKOFF_MS,
    heartbeatMs: Math.max(200, Math.floor((config.REPORTER_ACK_WAIT_MS ?? 3_000) / 3)),
    logger,
    maxAttempts: deps.maxAttempts,
    deadLetters: createReporterDeadLetters({ js, namespace }),
    ...handlers,
  });
}

/** Why /ready fails for the consumer of loaded events: stalled, or unable to pull for `stallMs`. */
export function consumerProblem(
  health: ReturnType<ReturnType<typeof createEventLoop>["health"]> | undefined,
  consumer: string,
  stallMs: number,
  now = Date.now(),
): string | null {
  if (health?.stalledSince !== undefined)
    return `${consumer} consumer stalled since ${new Date(health.stalledSince).toISOString()}`;
  if (health?.failingSince !== undefined && now - health.failingSince >= stallMs)
    return `${consumer} cannot pull since ${new Date(health.failingSince).toISOString()}: ${health.lastError}`;
  return null;
}
