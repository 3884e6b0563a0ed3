import SwaggerParser from "@apidevtools/swagger-parser";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import type { ServiceApp } from "./http.ts";

/** Every route the Hono app serves, as `METHOD /path/{param}` (middleware excluded). */
export function routeTable(app: ServiceApp): string[] {
  return [
    ...new Set(
      app.routes
        .filter((r) => r.method !== "ALL")
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    ),
  ].sort();
}

/** Every operation the app's `/openapi.json` documents, after validating it as OpenAPI 3. */
export async function documentedRoutes(app: ServiceApp): Promise<string[]> {
  const doc = (await (await app.request("/openapi.json")).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  await SwaggerParser.validate(structuredClone(doc) as never);
  return Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

/**
 * The problems Redocly's linter (the engine of `npx @redocly/cli lint`) finds in the app's
 * `/openapi.json` with its `recommended` rules (warnings included), as `severity rule: message (pointer)` lines; an
 * empty list when the document is clean of errors and warnings.
 */
export async function openApiLintProblems(app: ServiceApp): Promise<string[]> {
  const source = await (await app.request("/openapi.json")).text();
  // The one rule turned off: adpipe has not chosen a licence, and the document must not claim one.
  const config = await createConfig({ extends: ["recommended"], rules: { "info-license": "off" } });
  const problems = await lintFromString({ source, absoluteRef: "openapi.json", config });
  return problems.map(
    (p) => `${p.severity} ${p.ruleId}: ${p.message} (${p.location.map((l) => l.pointer).join(", ")})`,
  );
}

interface Family {
  name: string;
  type: string;
  metrics: {
    value?: string;
    labels?: Record<string, string>;
    count?: string;
    buckets?: Record<string, string>;
  }[];
}

/** `/metrics` parsed by a Prometheus text-format parser (it throws on malformed output). */
export async function scrape(app: ServiceApp): Promise<Map<string, Family>> {
  const res = await app.request("/metrics");
  if (!res.headers.get("content-type")?.startsWith("text/plain"))
    throw new Error("metrics are not text/plain");
  const families = parsePrometheusTextFormat(await res.text()) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

/** Sum of a counter's or gauge's samples whose labels include `labels`. */
export function total(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const family = families.get(name);
  if (!family) return 0;
  return family.metrics
    .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
    .reduce((sum, m) => sum + Number(m.value ?? 0), 0);
}

/** The API token test apps are built with (`security: testSecurity`). */
export const TEST_API_TOKEN = "adpipe-test-token-0123456789";
export const testSecurity = { apiToken: TEST_API_TOKEN } as const;
/** Headers of an authorised call, with a JSON body type. */
export const authorised = { authorization: `Bearer ${TEST_API_TOKEN}`, "content-type": "application/json" };

/**
 * Walks the app's route table: every non-GET route must answer 401 without a token and with a
 * wrong one, 403 to a cross-origin page, 415 to a `text/plain` body, and get past the guard
 * with the token. Returns what did not hold (empty when every route is guarded), so a route
 * added later is covered without anyone remembering to list it.
 */
export async function unguardedRoutes(app: ServiceApp): Promise<string[]> {
  const problems: string[] = [];
  const mutating = routeTable(app).filter((r) => !r.startsWith("GET "));
  for (const route of mutating) {
    const [method, template] = route.split(" ") as [string, string];
    const path = template.replace(/\{\w+\}/g, "999999");
    const call = (headers: Record<string, string>, body = "{}") =>
      app.request(path, { method, headers: { "content-type": "application/json", ...headers }, body });
    const expectStatus = async (what: string, res: Response, status: number) => {
      if (res.status !== status) problems.push(`${route} ${what}: ${res.status}, expected ${status}`);
      const body = (await res.json().catch(() => null)) as { error?: { code?: string } } | null;
      if (!body?.error?.code) problems.push(`${route} ${what}: no {error:{code}} body`);
    };
    await expectStatus("without a token", await call({}), 401);
    await expectStatus(
      "with a wrong token",
      await call({ authorization: "Bearer wrong-token-0123456789" }),
      401,
    );
    await expectStatus(
      "from another origin",
      await call({ authorization: authorised.authorization, origin: "https://evil.example" }),
      403,
    );
    await expectStatus(
      "with a text/plain body",
      await call(
        { authorization: authorised.authorization, "content-type": "text/plain" },
        '{"confirm":"yes"}',
      ),
      415,
    );
    const ok = await call({ authorization: authorised.authorization });
    if ([401, 403, 413, 414, 415].includes(ok.status))
      problems.push(`${route} with the token: refused by the guard (${ok.status})`);
  }
  if (mutating.length === 0) problems.push("no mutating route found: is the route table empty?");
  return problems;
}
