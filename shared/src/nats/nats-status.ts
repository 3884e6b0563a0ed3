import type { Logger } from "../config/logger.ts";

/** The fields of a nats.js status event that matter for a log line. */
export interface NatsStatusLike {
  type: string;
  data: unknown;
  permissionContext?: { operation: string; subject: string };
}

/**
 * Logs a NATS connection's status events: reconnects and disconnects at info (NATS restarts are
 * ordinary; `/ready` reports the gap), an error as a warning with what to do, each distinct one
 * once: a permissions violation repeats on every publish or subscribe and would flood the log.
 */
export function createNatsStatusLog(logger: Logger) {
  const warned = new Set<string>();
  return (status: NatsStatusLike): void => {
    if (status.type === "pingTimer") return;
    const data = String(status.data);
    if (status.type !== "error") {
      logger.info("NATS connection status", { status: status.type, data });
      return;
    }
    const context = status.permissionContext;
    const key = `${data}|${context?.operation ?? ""}|${context?.subject ?? ""}`;
    if (warned.has(key)) return;
    warned.add(key);
    logger.warn("NATS refused an operation", {
      error: data,
      ...(context ? { operation: context.operation, subject: context.subject } : {}),
      todo: data.includes("PERMISSIONS_VIOLATION")
        ? "this service's NATS user may not do this: the grants are in shared/src/nats/nats-permissions.ts (bun start writes them at start; compose: regenerate compose/nats-server.conf)"
        : "check the NATS server's log",
    });
  };
}
