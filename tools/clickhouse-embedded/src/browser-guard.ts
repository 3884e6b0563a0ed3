import { allowedHosts, hostAllowed, originAllowed } from "@adpipe/shared/hosts";
import { type Exception, exception } from "./exception.ts";

/**
 * Who may reach the server through a browser. Any web page can make the browser send a
 * `text/plain` POST to a loopback port without a preflight (`fetch(url, {mode: "no-cors"})`),
 * and a page under a name of its own that resolves to 127.0.0.1 (DNS rebinding) can even read
 * the answers. ClickHouse's HTTP interface acts on such a request like on any other, so the
 * server refuses requests that come from a page of another site, and Host names that are not
 * this machine's.
 */
export interface BrowserPolicy {
  /** Host names besides loopback and the listening address (`--allowed-hosts`). */
  allowedHosts?: readonly string[];
  /**
   * Origins of browser tools allowed to query the server (`--allow-origin`, e.g. a Tabix page):
   * they get CORS answers; every other page's request is refused.
   */
  allowedOrigins?: readonly string[];
  listenHost?: string;
}

const forbidden = (message: string, version: string, status = 403): Exception => ({
  ...exception(497, "ACCESS_DENIED", message, version),
  status,
});

export function browserGuard(policy: BrowserPolicy, version: string) {
  const hosts = allowedHosts(policy.allowedHosts, policy.listenHost);
  const origins = new Set((policy.allowedOrigins ?? []).map((o) => new URL(o).origin));
  /** The CORS headers an allowed tool's origin gets on every answer. */
  const cors = (req: Request): Record<string, string> => {
    const origin = req.headers.get("origin");
    if (!origin || !origins.has(origin)) return {};
    return {
      "Access-Control-Allow-Origin": origin,
      "Access-Control-Allow-Headers":
        req.headers.get("access-control-request-headers") ?? "authorization, content-type",
      "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
      "Access-Control-Expose-Headers":
        "X-ClickHouse-Summary, X-ClickHouse-Query-Id, X-ClickHouse-Format, X-ClickHouse-Exception-Code, X-ClickHouse-Timezone",
      Vary: "Origin",
    };
  };
  return {
    cors,
    /** Why the request is refused before any query runs, or undefined. */
    check(req: Request): Exception | undefined {
      const host = req.headers.get("host") ?? undefined;
      if (!hostAllowed(host, hosts))
        return forbidden(
          "Host header is not a name of this server (loopback, --host, or one given with --allowed-hosts): refused against DNS rebinding",
          version,
          421,
        );
      const origin = req.headers.get("origin");
      if (origin !== null && !origins.has(origin) && !originAllowed(origin, host, hosts))
        return forbidden(
          "request from a page of another site refused (its Origin is not this server; allow a tool's page with --allow-origin)",
          version,
        );
      if (req.headers.get("sec-fetch-site") === "cross-site" && (origin === null || !origins.has(origin)))
        return forbidden("cross-site request refused (Sec-Fetch-Site: cross-site)", version);
      return undefined;
    },
  };
}
