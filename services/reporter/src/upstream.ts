/** What another service answered, or why it did not: the dashboard shows either, never throws. */
export type Answer<T = unknown> =
  | { ok: true; status: number; body: T }
  | { ok: false; status: number | null; error: string; body?: unknown };

/**
 * One call to another adpipe service with a deadline, so a service that is down or hung makes
 * its panel say "down" within the timeout instead of holding the whole page.
 */
export async function callService<T = unknown>(
  base: string,
  path: string,
  timeoutMs: number,
  init: { method?: "GET" | "POST"; body?: unknown; authorization?: string } = {},
): Promise<Answer<T>> {
  try {
    // The caller's bearer token goes along: the dashboard holds no power of its own.
    const headers: Record<string, string> = init.authorization ? { authorization: init.authorization } : {};
    if (init.body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(new URL(path, base), {
      method: init.method ?? "GET",
      signal: AbortSignal.timeout(timeoutMs),
      headers,
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON (a proxy's error page): keep the text for the message.
    }
    if (res.ok) return { ok: true, status: res.status, body: body as T };
    const message = (body as { error?: { message?: string } })?.error?.message;
    return { ok: false, status: res.status, error: message ?? `answered ${res.status}`, body };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    const message = err instanceof Error ? err.message : String(err);
    // Bun's refusal message reads like advice for a browser user; the page needs the fact.
    const refused =
      (err as { code?: string })?.code === "ConnectionRefused" || message.includes("ECONNREFUSED");
    return {
      ok: false,
      status: null,
      error: timedOut ? `no answer within ${timeoutMs} ms` : refused ? "connection refused" : message,
    };
  }
}
