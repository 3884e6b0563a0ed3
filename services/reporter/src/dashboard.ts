import { dirname, join } from "node:path";
import { subjects } from "@adpipe/shared/contract";
import type { ServiceApp } from "@adpipe/shared/http";
import type { ClickHouseClient } from "@clickhouse/client";
import { streamSSE } from "hono/streaming";
import type { NatsConnection } from "nats";
import { z } from "zod";
import { addControlRoutes } from "./dashboard-controls.ts";
import { addVerifyBadgeRoute } from "./dashboard-verify.ts";
import { schemaChanges, tableRows } from "./pipeline-view.ts";
import type { Queries } from "./sql.ts";
import { type Answer, callService } from "./upstream.ts";

/** Hand-written static files: no build step, no CDN, so the page works offline. */
export const dashboardFolder = join(import.meta.dir, "..", "dashboard");
const ASSETS = {
  "app.js": "text/javascript",
  "charts.js": "text/javascript",
  "format.js": "text/javascript",
  "pacing.js": "text/javascript",
  "auth.js": "text/javascript",
  "verify.js": "text/javascript",
  "operations.js": "text/javascript",
  "style.css": "text/css",
} as const;

/**
 * The chart library, served from the reporter's own dependencies (package.json pins the versions):
 * Chart.js and its annotation plugin, their browser builds as published on npm.
 */
const VENDOR = {
  "chart.umd.min.js": join(dirname(Bun.resolveSync("chart.js", import.meta.dir)), "chart.umd.min.js"),
  "chartjs-plugin-annotation.min.js": join(
    dirname(Bun.resolveSync("chartjs-plugin-annotation", import.meta.dir)),
    "chartjs-plugin-annotation.min.js",
  ),
} as const;

export interface DashboardDeps {
  clickhouse: ClickHouseClient;
  /** Where `<namespace>.reports.updated` is heard, for the page's live updates. */
  nc: NatsConnection;
  namespace: string;
  queries: Pick<Queries, "table-counts">;
  upstreams: { generator: string; extractor: string; loader: string };
  timeoutMs: number;
  /** How often the live stream sends the pipeline's state (default 2 s). */
  pipelineEveryMs?: number;
}

const tags = ["dashboard"];
/**
 * The dashboard at `/`: its files, one read that gathers every service's state server-side
 * (the browser talks to the reporter only, so no CORS and one origin to open), and proxies for
 * the controls. A service that is down shows as down; it never fails the read.
 */
export function addDashboard(app: ServiceApp, deps: DashboardDeps) {
  const { clickhouse, queries, upstreams, timeoutMs } = deps;
  const call = (base: string, path: string, init?: Parameters<typeof callService>[3]) =>
    callService(base, path, timeoutMs, init);

  addFileRoutes(app);

  async function clickhouseCounts() {
    try {
      const rs = await clickhouse.query({
        query: queries["table-counts"],
        format: "JSONEachRow",
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
        abort_signal: AbortSignal.timeout(timeoutMs * 2),
      });
      const [row] = await rs.json<Record<string, number>>();
      return { ok: true as const, counts: row ?? {} };
    } catch (err) {
      return { ok: false as const, error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Every service's health and readiness, per-table progress, dead letters, the simulation. */
  async function pipelineState(authorization: string | undefined) {
    // The reporter answers its own checks in-process: it does not need to know its public URL.
    const own = async (path: string): Promise<Answer> => {
      const res = await app.request(path, { headers: authorization ? { authorization } : {} });
      const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      return res.ok
        ? { ok: true, status: res.status, body }
        : { ok: false, status: res.status, error: body?.error?.message ?? `answered ${res.status}`, body };
    };
    const services: (readonly [string, (path: string) => Promise<Answer>])[] = [
      ...Object.entries(upstreams).map(
        ([name, base]) => [name, (path: string) => call(base, path, { authorization })] as const,
      ),
      ["reporter", own],
    ];
    const [health, stats, watermarks, loaderStatus, deadLetters, simulation, chCounts] = await Promise.all([
      Promise.all(
        services.map(async ([name, ask]) => {
          const [h, r] = await Promise.all([ask("/health"), ask("/ready")]);
          return {
            name,
            up: h.ok,
            ready: r.ok,
            error: !h.ok ? h.error : !r.ok ? r.error : null,
            dependencies: (r.body as { dependencies?: unknown } | undefined)?.dependencies ?? null,
          };
        }),
      ),
      call(upstreams.generator, "/stats", { authorization }),
      call(upstreams.extractor, "/watermarks", { authorization }),
      call(upstreams.loader, "/status", { authorization }),
      call(upstreams.loader, "/dead-letters?limit=20", { authorization }),
      call(upstreams.generator, "/simulate", { authorization }),
      clickhouseCounts(),
    ]);
    const now = new Date();
    return {
      at: now.toISOString(),
      services: health,
      tables: tableRows({
        now,
        stats: stats as Answer<Record<string, unknown>>,
        watermarks: watermarks as Answer<never>,
        loaderStatus: loaderStatus as Answer<never>,
        chCounts,
      }),
      schema_changes: schemaChanges(loaderStatus as Answer<never>),
      dead_letters: deadLetters.ok ? deadLetters.body : { error: deadLetters.error },
      simulation: simulation.ok ? simulation.body : { error: simulation.error },
      clickhouse: chCounts.ok ? { ok: true } : { ok: false, error: chCounts.error },
    };
  }

  app.api.get(
    "/dashboard/api/pipeline",
    { summary: "Every service's health and readiness, per-table progress, dead letters", tags },
    async (c) => c.json(await pipelineState(c.req.header("authorization"))),
  );

  app.api.get(
    "/dashboard/api/events",
    {
      summary:
        "Live updates for the dashboard (server-sent events): `pipeline` (the state /dashboard/api/pipeline answers) at once and every 2 s, `reports` whenever a rebuild finished (the <ns>.reports.updated event)",
      tags,
      produces: ["text/event-stream"],
    },
    (c) =>
      streamSSE(c, async (stream) => {
        const authorization = c.req.header("authorization");
        const updates = deps.nc.subscribe(subjects(deps.namespace).reportsUpdated);
        stream.onAbort(() => updates.unsubscribe());
        void (async () => {
          for await (const m of updates) {
            if (stream.aborted) break;
            await stream.writeSSE({ event: "reports", data: new TextDecoder().decode(m.data) });
          }
        })().catch(() => {});
        try {
          while (!stream.aborted) {
            await stream.writeSSE({
              event: "pipeline",
              data: JSON.stringify(await pipelineState(authorization)),
            });
            await stream.sleep(deps.pipelineEveryMs ?? 2000);
          }
        } finally {
          updates.unsubscribe();
        }
      }),
  );

  addControlRoutes(app, upstreams, timeoutMs);
  addVerifyBadgeRoute(app, upstreams.extractor, timeoutMs);
}

/** The page, its scripts and stylesheet, and the vendored chart library. */
function addFileRoutes(app: ServiceApp): void {
  app.api.get("/", { summary: "The dashboard page", tags, produces: ["text/html"] }, async (c) =>
    c.html(await Bun.file(join(dashboardFolder, "index.html")).text()),
  );

  app.api.get(
    "/dashboard/:file",
    {
      summary: "The dashboard's script and stylesheet",
      tags,
      params: z.object({ file: z.enum(Object.keys(ASSETS) as [keyof typeof ASSETS]) }),
      produces: ["text/javascript", "text/css"],
    },
    async (c, { params }) =>
      c.body(await Bun.file(join(dashboardFolder, params.file)).text(), 200, {
        "content-type": `${ASSETS[params.file]}; charset=utf-8`,
      }),
  );

  app.api.get(
    "/dashboard/vendor/:file",
    {
      summary: "The chart library (Chart.js and its annotation plugin, from npm)",
      tags,
      params: z.object({ file: z.enum(Object.keys(VENDOR) as [keyof typeof VENDOR]) }),
      produces: ["text/javascript"],
    },
    async (c, { params }) =>
      c.body(await Bun.file(VENDOR[params.file]).text(), 200, {
        "content-type": "text/javascript; charset=utf-8",
        "cache-control": "public, max-age=86400",
      }),
  );
}
