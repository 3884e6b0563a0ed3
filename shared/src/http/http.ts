import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { ConfigError } from "../config/config.ts";
import type { Logger } from "../config/logger.ts";
import { createRegistry, type Registry } from "../config/metrics.ts";
import { AppError, errorBody } from "./errors.ts";
import { createApi } from "./openapi.ts";
import { type HttpSecurity, securityMiddleware } from "./security.ts";

/**
 * A named dependency check for `/ready`; it throws (or rejects) when the dependency is unusable.
 * It may resolve with `{ warning: "..." }`: still ready, and the warning is shown with the check.
 */
export type ReadinessChecks = Record<string, () => Promise<unknown>>;

export type AppEnv = { Variables: { requestId: string } };

export interface ServiceAppOptions {
  service: string;
  logger: Logger;
  checks?: ReadinessChecks;
  /** Upper bound for one readiness check, so a hung dependency answers 503 instead of hanging. */
  checkTimeoutMs?: number;
  /** The service's Prometheus registry, served at `/metrics` (a fresh one when omitted). */
  registry?: Registry;
  /** One line for the OpenAPI document's description. */
  description?: string;
  /** Tokens and limits (security.ts). Without an API token every non-GET route answers 401. */
  security?: HttpSecurity;
}

async function runCheck(check: () => Promise<unknown>, timeoutMs: number): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([check(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The Hono app every service starts from: request ids, `GET /health` (the process answers),
 * `GET /ready` (every dependency answers; 503 naming the ones that do not), `GET /metrics`
 * (Prometheus), `GET /openapi.json` and `/docs`, and one error shape
 * `{ "error": { "code", "message" } }` for everything that goes wrong. Routes added through
 * `app.api` are validated and documented from the same schemas.
 */
export function createServiceApp({
  service,
  logger,
  checks = {},
  checkTimeoutMs = 2000,
  registry = createRegistry(service),
  description,
  security = {},
}: ServiceAppOptions) {
  const app = new Hono<AppEnv>();
  // A client's X-Request-Id is kept only when it is a plain token (letters, digits, -, _, =; at
  // most 64): anything else is replaced by a fresh UUID, so an id in a log line is never text
  // a client chose to look like something else.
  app.use(requestId({ limitLength: 64 }));
  app.use(securityMiddleware(security, logger));
  const api = createApi(app, { title: `adpipe ${service}`, description });

  api.get("/health", { summary: "Liveness: the process answers", tags: ["meta"] }, (c) =>
    c.json({ status: "ok", service }),
  );

  api.get(
    "/metrics",
    { summary: "Prometheus metrics", tags: ["meta"], produces: ["text/plain"] },
    async (c) => c.body(await registry.metrics(), 200, { "content-type": registry.contentType }),
  );

  api.get(
    "/ready",
    {
      summary: "Readiness: every dependency answers",
      tags: ["meta"],
      responses: { 200: "ready", 503: "a dependency is unreachable; the message names it" },
    },
    async (c) => {
      const results = await Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          try {
            const answer = (await runCheck(check, checkTimeoutMs)) as { warning?: unknown } | null;
            const warning = typeof answer?.warning === "string" ? answer.warning : undefined;
            return [name, warning ? { ok: true, warning } : { ok: true }] as const;
          } catch (err) {
            return [name, { ok: false, error: err instanceof Error ? err.message : String(err) }] as const;
          }
        }),
      );
      const failing = results.flatMap(([name, r]) => ("error" in r ? [`${name}: ${r.error}`] : []));
      const dependencies = Object.fromEntries(results);
      if (failing.length === 0) return c.json({ status: "ready", service, dependencies });
      return c.json(
        {
          ...errorBody("not_ready", `not ready: ${failing.join("; ")}`),
          service,
          dependencies,
        },
        503,
      );
    },
  );

  app.notFound((c) => c.json(errorBody("not_found", `no route for ${c.req.method} ${c.req.path}`), 404));

  app.onError((err, c) => {
    if (err instanceof AppError) {
      if (err.status >= 500) logger.error(err.message, { err, requestId: c.get("requestId") });
      return c.json(errorBody(err.code, err.message), err.status);
    }
    if (err instanceof SyntaxError) return c.json(errorBody("invalid_request", "body: invalid JSON"), 400);
    logger.error("request failed", { err, path: c.req.path, requestId: c.get("requestId") });
    return c.json(errorBody("internal", err instanceof Error ? err.message : "internal error"), 500);
  });

  return Object.assign(app, { api, registry });
}

export type ServiceApp = ReturnType<typeof createServiceApp>;

/** Why the system refuses to listen, as the setting to change. */
const LISTEN_REFUSALS: Record<string, (host: string, port: number) => [variable: string, reason: string]> = {
  EADDRINUSE: (host, port) => [
    "PORT",
    `${host}:${port} is already in use; stop what listens there or choose another port`,
  ],
  EACCES: (host, port) => [
    "PORT",
    `${host}:${port} may not be bound by this user (ports below 1024 need privileges)`,
  ],
  EADDRNOTAVAIL: (host) => ["HOST", `${host} is not an address of this machine`],
};

/**
 * Serves `fetch` on HOST:PORT. An address the system refuses (a port in use, a privileged port,
 * a HOST that is not this machine's) stops start-up as a bad setting does: one line naming the
 * variable, not a stack.
 */
export function listen(
  { HOST, PORT }: { HOST: string; PORT: number },
  fetch: (request: Request, server: Bun.Server<undefined>) => Response | Promise<Response>,
  options: { idleTimeout?: number } = {},
): Bun.Server<undefined> {
  try {
    return Bun.serve({ hostname: HOST, port: PORT, fetch, ...options });
  } catch (err) {
    const refusal = LISTEN_REFUSALS[(err as { code?: string }).code ?? ""];
    if (refusal) throw new ConfigError(...refusal(HOST, PORT));
    throw err;
  }
}
