import { createHash } from "node:crypto";

/**
 * The Content-Security-Policy of every response (the dashboard, /docs and the JSON API alike):
 * scripts only from this origin's files, never inline or eval'd, so text that reaches a page
 * (a campaign name, an error message) can never run; nothing may frame a page (clickjacking);
 * the page talks only to its own origin. Inline styles stay allowed: the dashboard's charts set
 * colours through `style` attributes, and a style cannot run code.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * The same policy for a page whose one script is inline (`/docs`): that exact script, by hash,
 * and nothing else inline.
 */
export function policyWithScript(script: string): string {
  const hash = createHash("sha256").update(script).digest("base64");
  return CONTENT_SECURITY_POLICY.replace("script-src 'self'", `script-src 'self' 'sha256-${hash}'`);
}

/** Headers on every response; a route may set its own Content-Security-Policy first. */
export const BROWSER_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  // A JSON or CSV answer is never run as a script or rendered as HTML by a guessing browser.
  "X-Content-Type-Options": "nosniff",
  // For browsers without frame-ancestors.
  "X-Frame-Options": "DENY",
  // Another site may not embed an answer with <script>/<img> and time or size it.
  "Cross-Origin-Resource-Policy": "same-origin",
  "Referrer-Policy": "no-referrer",
};

/** Adds the browser headers a response does not set itself. */
export function withBrowserHeaders(headers: Headers): void {
  for (const [name, value] of Object.entries(BROWSER_HEADERS))
    if (!headers.has(name)) headers.set(name, value);
}
