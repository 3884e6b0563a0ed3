// Prints adpipe's Grafana dashboard (scripts/lib/grafana-dashboard.ts):
// `bun run grafana:dashboard > compose/grafana/dashboards/adpipe.json` after changing it.
import { renderDashboard } from "./lib/grafana-dashboard.ts";

if (import.meta.main) process.stdout.write(renderDashboard());
