// The Grafana dashboard compose provisions: the committed JSON is the generated one, parses as a
// dashboard, uses the data source compose provisions, and every panel queries adpipe's metrics
// (which ones the services export is checked against their real /metrics in
// e2e/metrics.e2e.test.ts).
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildDashboard, DATASOURCE, renderDashboard } from "./grafana-dashboard.ts";
import { queriedMetrics } from "./promql.ts";

const compose = join(import.meta.dir, "..", "..", "compose");
const committed = readFileSync(join(compose, "grafana", "dashboards", "adpipe.json"), "utf8");

interface Panel {
  type: string;
  title: string;
  datasource?: { uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; datasource: { uid: string } }[];
}

test("compose/grafana/dashboards/adpipe.json is the generated one (bun run grafana:dashboard > it)", () => {
  expect(committed).toBe(renderDashboard());
});

test("it parses as a dashboard whose panels read the provisioned Prometheus, each query an adpipe metric", () => {
  const dashboard = JSON.parse(committed) as { uid: string; panels: Panel[] };
  expect(dashboard.uid).toBe("adpipe");
  const datasources = Bun.YAML.parse(
    readFileSync(join(compose, "grafana", "provisioning", "datasources", "prometheus.yml"), "utf8"),
  ) as { datasources: { uid: string; url: string }[] };
  expect(datasources.datasources.map((d) => [d.uid, d.url])).toEqual([
    [DATASOURCE.uid, "http://prometheus:9090"],
  ]);
  const panels = dashboard.panels.filter((p) => p.type !== "row");
  expect(panels.length).toBeGreaterThan(10);
  const problems = panels.flatMap((p) => {
    const out: string[] = [];
    if (p.datasource?.uid !== DATASOURCE.uid) out.push(`${p.title}: data source ${p.datasource?.uid}`);
    if (!p.targets?.length) out.push(`${p.title}: no query`);
    for (const t of p.targets ?? [])
      if (queriedMetrics(t.expr).length === 0) out.push(`${p.title}: ${t.expr} names no metric`);
    return out;
  });
  expect(problems).toEqual([]);
});

test("panels do not overlap and fit the 24-column grid", () => {
  const cells = new Set<string>();
  const clashes: string[] = [];
  for (const p of buildDashboard().panels as unknown as Panel[]) {
    expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
        if (cells.has(`${x},${y}`)) clashes.push(`${p.title} at ${x},${y}`);
        cells.add(`${x},${y}`);
      }
  }
  expect(clashes).toEqual([]);
});

test("compose mounts the dashboard where the provisioning looks for it", () => {
  const provider = Bun.YAML.parse(
    readFileSync(join(compose, "grafana", "provisioning", "dashboards", "adpipe.yml"), "utf8"),
  ) as { providers: { options: { path: string } }[] };
  const path = provider.providers[0]?.options.path;
  for (const file of ["docker-compose.yml", "docker-compose.cluster.yml"])
    expect({
      file,
      mounted: readFileSync(join(compose, "..", file), "utf8").includes(
        `./compose/grafana/dashboards:${path}:ro`,
      ),
    }).toEqual({
      file,
      mounted: true,
    });
});
