import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { AppError, errorBody } from "./errors.ts";
import type { Logger } from "./logger.ts";

/** How a service's HTTP layer guards itself; every service gets the same rules from `createServiceApp`. */
export interface HttpSecurity {
  /** Bearer token every non-GET route requires. Unset: every non-GET route answers 401. */
  apiToken?: string;
  /** When set, GET routes (except the open ones) require this token or the API token. */
  readToken?: string;
  /** Largest request body, in bytes. */
  maxBodyBytes?: number;
  /** Longest query string, in bytes. */
  maxQueryBytes?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_MAX_QUERY_BYTES = 4096;

/** Answered to anyone, token or not: probes, metrics and the API description. */
export const OPEN_PATHS: ReadonlySet<string> = new Set([
  "/health",
  "/ready",
  "/metrics",
  "/openapi.json",
  "/docs",
]);

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
export const isMutating = (method: string) => !SAFE_METHODS.has(method.toUpperCase());

// Hashing both sides first gives equal lengths, so the comparison leaks neither length nor content.
const digest = (s: string) => createHash("sha256").update(s).digest();
export function tokenMatches(given: string | undefined, expected: string | undefined): boolean {
  if (!given || !expected) return false;
  return timingSafeEqual(digest(given), digest(expected));
}

function bearer(c: Context): string | undefined {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** The peer's address from Bun's server (`c.env` is the server under `Bun.serve`), else "unknown". */
export function callerAddress(c: Context): string {
  const server = c.env as { requestIP?: (req: Request) => { address: string } | null } | undefined;
  try {
    return server?.requestIP?.(c.req.raw)?.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

function sameOrigin(c: Context, origin: string): boolean {
  if (origin === "null") return false;
  try {
    return new URL(origin).host === (c.req.header("host") ?? new URL(c.req.url).host);
  } catch {
    return false;
  }
}

const isJson = (type: string) => /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type.trim());

/**
 * The guard in front of every route, in the order a request meets it: the query string's
 * length (414), the token (401), for mutating methods the caller's origin (403: a page on
 * another site must not drive the service through the user's browser) and the body's type
 * (415: only JSON, so a form or `text/plain` post changes nothing), and the body's size (413).
 * Every mutating call leaves one audit line: method, route, caller, status.
 */
export function securityMiddleware(security: HttpSecurity, logger: Logger): MiddlewareHandler {
  const maxBody = security.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxQuery = security.maxQueryBytes ?? DEFAULT_MAX_QUERY_BYTES;
  const refuse = (c: Context, err: unknown) => {
    if (!(err instanceof AppError)) throw err;
    c.res = c.json(errorBody(err.code, err.message), err.status);
  };
  return async (c, next) => {
    const mutating = isMutating(c.req.method);
    if (mutating) {
      try {
        await guard(c, mutating);
        await next();
      } catch (err) {
        refuse(c, err);
      } finally {
        logger.info("audit", {
          method: c.req.method,
          route: c.req.path,
          caller: callerAddress(c),
          status: c.res.status,
          outcome: c.res.status < 400 ? "ok" : "refused_or_failed",
          requestId: c.get("requestId"),
        });
      }
      return;
    }
    try {
      await guard(c, mutating);
    } catch (err) {
      refuse(c, err);
      return;
    }
    await next();
  };

  async function guard(c: Context, mutating: boolean) {
    const url = c.req.url;
    const q = url.indexOf("?");
    if (q >= 0 && url.length - q - 1 > maxQuery)
      throw new AppError("uri_too_long", `query: longer than ${maxQuery} bytes`, 414);
    if (mutating) {
      if (!security.apiToken)
        throw new AppError(
          "unauthorized",
          "control plane disabled: the service has no ADPIPE_API_TOKEN",
          401,
        );
      if (!tokenMatches(bearer(c), security.apiToken))
        throw new AppError(
          "unauthorized",
          "missing or wrong bearer token (Authorization: Bearer <ADPIPE_API_TOKEN>)",
          401,
        );
      const origin = c.req.header("origin");
      if (origin !== undefined && !sameOrigin(c, origin))
        throw new AppError("forbidden", `origin ${origin} may not call this service`, 403);
      if (c.req.header("sec-fetch-site") === "cross-site")
        throw new AppError("forbidden", "cross-site requests may not call this service", 403);
      const tooLarge = () => new AppError("payload_too_large", `body: larger than ${maxBody} bytes`, 413);
      if (Number(c.req.header("content-length") ?? 0) > maxBody) throw tooLarge();
      // Hono keeps the text it read, so the route's JSON parsing reads the same body again.
      const text = c.req.raw.body === null ? "" : await c.req.text();
      if (Buffer.byteLength(text) > maxBody) throw tooLarge();
      if (text !== "" && !isJson(c.req.header("content-type") ?? ""))
        throw new AppError("unsupported_media_type", "body: expected Content-Type application/json", 415);
      return;
    }
    if (security.readToken && !OPEN_PATHS.has(c.req.path)) {
      const given = bearer(c);
      if (!tokenMatches(given, security.readToken) && !tokenMatches(given, security.apiToken))
        throw new AppError(
          "unauthorized",
          "missing or wrong bearer token (Authorization: Bearer <ADPIPE_READ_TOKEN>)",
          401,
        );
    }
  }
}

/** The HTTP security a service's parsed settings ask for. */
export const securityFrom = (config: {
  ADPIPE_API_TOKEN?: string;
  ADPIPE_READ_TOKEN?: string;
}): HttpSecurity => ({
  apiToken: config.ADPIPE_API_TOKEN,
  readToken: config.ADPIPE_READ_TOKEN,
});
