/** One adpipe service as `bun start` runs it: `services/<name>`, started with `bun run start`. */
export interface ServiceDef {
  name: string;
  /** Its port unless `<NAME>_PORT` says otherwise (the same defaults as the service's own config). */
  defaultPort: number;
  /** What it connects to: it gets those URLs and credentials, and no others. */
  uses: readonly ("postgres" | "nats" | "clickhouse")[];
  /** Settings only this service gets, on top of the shared ones every service gets. */
  env?: (settings: {
    simulateIntervalSeconds: number;
    urls: Record<string, string>;
  }) => Record<string, string>;
  /** Example calls printed at start, `{url}` standing for the service's base URL. */
  tryIt?: string[];
}

/**
 * Every service `bun start` runs, in start order (stopped in reverse). Adding a service is one
 * entry here; its port variable, URL, start order and shutdown follow from it.
 */
export const SERVICES: readonly ServiceDef[] = [
  {
    name: "generator",
    defaultPort: 3001,
    uses: ["postgres"],
    // The realistic simulation, every few seconds so something moves. Not on at start-up: `bun
    // start` first decides whether PostgreSQL is empty (and seeds it), then starts it, so
    // nothing writes before that decision.
    env: ({ simulateIntervalSeconds }) => ({
      SIMULATE: "false",
      SIMULATE_MODE: "realistic",
      SIMULATE_INTERVAL_SECONDS: String(simulateIntervalSeconds),
    }),
    tryIt: ["curl -s {url}/stats", "curl -s {url}/simulate"],
  },
  {
    name: "extractor",
    defaultPort: 3002,
    // ClickHouse for the verifier (SELECT only).
    uses: ["postgres", "nats", "clickhouse"],
    tryIt: [
      "curl -s {url}/watermarks",
      'curl -s -X POST -H "authorization: Bearer $ADPIPE_API_TOKEN" {url}/extract',
    ],
  },
  { name: "loader", defaultPort: 3003, uses: ["nats", "clickhouse"], tryIt: ["curl -s {url}/status"] },
  {
    name: "reporter",
    defaultPort: 3004,
    uses: ["nats", "clickhouse"],
    // Its dashboard reads and drives the services started before it, wherever they listen.
    env: ({ urls }) => ({
      ...(urls.generator ? { GENERATOR_URL: urls.generator } : {}),
      ...(urls.extractor ? { EXTRACTOR_URL: urls.extractor } : {}),
      ...(urls.loader ? { LOADER_URL: urls.loader } : {}),
    }),
    tryIt: [
      "curl -s {url}/kpis/campaigns",
      "curl -s '{url}/kpis/daily?campaign_id=1'",
      "curl -s {url}/reports/status",
      "dashboard: {url}/",
    ],
  },
];

export const portVariable = (service: Pick<ServiceDef, "name">) => `${service.name.toUpperCase()}_PORT`;

type Env = Record<string, string>;

/**
 * Each service's environment, by need: what every service gets (`common`), the NATS and
 * ClickHouse settings only for the services that use them (`ServiceDef.uses`), its own settings,
 * then its own least-privilege credentials (`own`). PostgreSQL's URL comes only through `own`.
 */
export function serviceEnv(parts: { common: Env; nats: Env; clickhouse: Env; own: Record<string, Env> }) {
  const byUse: Record<ServiceDef["uses"][number], Env> = {
    postgres: {},
    nats: parts.nats,
    clickhouse: parts.clickhouse,
  };
  return (service: ServiceDef, extra: Env): Env => ({
    ...parts.common,
    ...Object.assign({}, ...service.uses.map((u) => byUse[u])),
    ...extra,
    ...parts.own[service.name],
  });
}
