import SwaggerParser from "@apidevtools/swagger-parser";
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
