import { z } from "zod";

/**
 * The names every adpipe listener answers to without being told: this machine's loopback names.
 * A page on another site can make a browser send requests to 127.0.0.1, but only under a name
 * the attacker controls (DNS rebinding: `evil.example` resolving to 127.0.0.1), so a listener
 * that answers only to the names below cannot be read or driven that way.
 */
export const LOOPBACK_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

/** Addresses that mean "every interface": not a name a client can send in Host. */
const WILDCARDS = new Set(["0.0.0.0", "::", "[::]"]);

/** A host name as a client writes it in `Host` and `Origin`: lower case, IPv6 in brackets. */
export function normaliseHost(name: string): string | undefined {
  const trimmed = name.trim().toLowerCase();
  if (trimmed === "") return undefined;
  const bracketed = trimmed.includes(":") && !trimmed.startsWith("[") ? `[${trimmed}]` : trimmed;
  try {
    const url = new URL(`http://${bracketed}`);
    return url.port === "" && url.pathname === "/" && url.username === "" ? url.hostname : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The allow-list of one listener: loopback, the address it listens on (unless that is a
 * wildcard), and the names an operator added (`ADPIPE_ALLOWED_HOSTS`; compose adds the service
 * names other containers use).
 */
export function allowedHosts(extra: readonly string[] = [], listenHost?: string): ReadonlySet<string> {
  const names = new Set(LOOPBACK_HOSTS);
  const own = listenHost ? normaliseHost(listenHost) : undefined;
  if (own && !WILDCARDS.has(own)) names.add(own);
  for (const name of extra) {
    const n = normaliseHost(name);
    if (n) names.add(n);
  }
  return names;
}

/** `name[:port]` from a Host header, split; undefined when it is not one. */
export function parseHostHeader(value: string): { host: string; port: string } | undefined {
  try {
    const url = new URL(`http://${value.trim()}`);
    if (url.pathname !== "/" || url.username !== "" || url.search !== "") return undefined;
    return { host: url.hostname.toLowerCase(), port: url.port || "80" };
  } catch {
    return undefined;
  }
}

/** Whether a request's Host header names this listener (any port: the port reached it already). */
export function hostAllowed(hostHeader: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (hostHeader === undefined) return false;
  const parsed = parseHostHeader(hostHeader);
  return parsed !== undefined && allowed.has(parsed.host);
}

/**
 * Whether an `Origin` is this listener itself: http(s), an allowed name, and the port the request
 * came in on (the Host header's). A page on another port of the same machine is another origin
 * and is refused too; so is `null` (sandboxed frames, file:// pages).
 */
export function originAllowed(
  origin: string,
  hostHeader: string | undefined,
  allowed: ReadonlySet<string>,
): boolean {
  if (hostHeader === undefined) return false;
  const own = parseHostHeader(hostHeader);
  try {
    const url = new URL(origin);
    if (url.protocol !== "http:" && url.protocol !== "https:") return false;
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    return own !== undefined && allowed.has(url.hostname.toLowerCase()) && port === own.port;
  } catch {
    return false;
  }
}

/**
 * `ADPIPE_ALLOWED_HOSTS`: more host names (comma-separated, no ports) a listener answers to
 * besides loopback, e.g. `reporter,adpipe.internal` behind a proxy or in a container network.
 */
export const allowedHostsSetting = z
  .string()
  .transform((text, ctx) => {
    const names = text
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    for (const name of names) {
      if (!normaliseHost(name) || name.includes("/") || /:\d+$/.test(name) || name.includes("*")) {
        ctx.addIssue({
          code: "custom",
          message: `${JSON.stringify(name)} is not a host name (names or addresses separated by commas, no ports, no wildcards)`,
        });
        return z.NEVER;
      }
    }
    return names;
  })
  .optional();
