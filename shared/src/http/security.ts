import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import type { Logger } from "../config/logger.ts";
import { withBrowserHeaders } from "./browser-headers.ts";
import { AppError, errorBody } from "./errors.ts";
import { allowedHosts, hostAllowed, originAllowed } from "./hosts.ts";

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
  /**
   * Host names the service answers to besides loopback (`ADPIPE_ALLOWED_HOSTS`), and the address
   * it listens on (`HOST`, added unless it is a wildcard). Any other Host header is 421.
   */
  allowedHosts?: readonly string[];
  listenHost?: string;
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

/** The Host the client sent; `app.request()` in tests sends none, its URL stands for it then. */
const hostOf = (c: Context) => c.req.header("host") ?? new URL(c.req.url).host;

/**
 * The body, read as it arrives and abandoned as soon as it passes `max` bytes: a chunked 30 MB
 * upload costs 1 MiB of memory, not 30. Kept where Hono's body readers find it, so a route's own
 * parsing reads this text and nothing is read twice.
 */
async function readBodyLimited(c: Context, max: number): Promise<string> {
  const stream = c.req.raw.body;
  if (stream === null) return "";
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw new AppError("payload_too_large", `body: larger than ${max} bytes`, 413);
    }
    chunks.push(value);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new AppError("invalid_request", "body: not valid UTF-8", 400);
  }
  // Hono keeps promises there (its type says otherwise): `c.req.text()` then answers this text.
  (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(text);
  return text;
}

const isJson = (type: string) => /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type.trim());

/**
 * The guard in front of every route, in the order a request meets it: the Host header (421: a
 * name that is not this service's is DNS rebinding or a misrouted request), the query string's
 * length (414), the token (401), for mutating methods the caller's origin (403: a page on
 * another site must not drive the service through the user's browser), the body's size while
 * it is read (413) and its type (415: only JSON, so a form or `text/plain` post changes
 * nothing). Every response carries the browser headers (browser-headers.ts); every mutating
 * call leaves one audit line: method, route, caller, status.
 */
export function securityMiddleware(security: HttpSecurity, logger: Logger): MiddlewareHandler {
  const maxBody = security.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxQuery = security.maxQueryBytes ?? DEFAULT_MAX_QUERY_BYTES;
  const hosts = allowedHosts(security.allowedHosts, security.listenHost);
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
    } else {
      let passed = false;
      try {
        await guard(c, mutating);
        passed = true;
      } catch (err) {
        refuse(c, err);
      }
      if (passed) await next();
    }
    try {
      withBrowserHeaders(c.res.headers);
    } catch {
      // A response whose headers are immutable (one passed through from fetch): a copy takes them.
      const copy = new Response(c.res.body, c.res);
      withBrowserHeaders(copy.headers);
      c.res = copy;
    }
  };

  async function guard(c: Context, mutating: boolean) {
    if (!hostAllowed(hostOf(c), hosts))
      throw new AppError(
        "misdirected_request",
        "host: not a name of this service (loopback names, HOST, or one listed in ADPIPE_ALLOWED_HOSTS)",
        421,
      );
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
      if (origin !== undefined && !originAllowed(origin, hostOf(c), hosts))
        throw new AppError(
          "forbidden",
          "origin: a page of another site or port may not call this service",
          403,
        );
      if (c.req.header("sec-fetch-site") === "cross-site")
        throw new AppError("forbidden", "cross-site requests may not call this service", 403);
      if (Number(c.req.header("content-length") ?? 0) > maxBody)
        throw new AppError("payload_too_large", `body: larger than ${maxBody} bytes`, 413);
      const text = await readBodyLimited(c, maxBody);
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
  ADPIPE_ALLOWED_HOSTS?: readonly string[];
  HOST?: string;
}): HttpSecurity => ({
  apiToken: config.ADPIPE_API_TOKEN,
  readToken: config.ADPIPE_READ_TOKEN,
  allowedHosts: config.ADPIPE_ALLOWED_HOSTS,
  listenHost: config.HOST,
});
