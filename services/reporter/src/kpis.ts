import { type ClickHouseClient, queryRows } from "@adpipe/shared/clickhouse";
import type { Queries, QueryName } from "./sql.ts";

export type Row = Record<string, unknown>;

/** `now` as ClickHouse's `DateTime64(0, 'UTC')` parameter: whole seconds, as the pacing counts them. */
export const clockParam = (now: Date) => now.toISOString().slice(0, 19).replace("T", " ");

/**
 * The API's reads: every one a file in services/reporter/sql, bound with query parameters. The
 * pacing figures are read at `now()` (the flight's elapsed seconds, docs/kpis.md "Pacing");
 * tests hand in a fixed clock.
 */
export function createKpis(
  clickhouse: ClickHouseClient,
  queries: Queries,
  now: () => Date = () => new Date(),
) {
  const read = (name: QueryName, params: Record<string, unknown>) =>
    queryRows<Row>(clickhouse, queries[name], { ...params, now: clockParam(now()) });

  return {
    campaigns: (p: { advertiser_id?: number; campaign_id?: number }) =>
      read("kpi-campaigns", { advertiser_id: p.advertiser_id ?? null, campaign_id: p.campaign_id ?? null }),
    top: (p: { by: "ctr" | "spend"; limit: number }) => read("kpi-top", { ...p, advertiser_id: null }),
    daily: (p: { campaign_id?: number; advertiser_id?: number; from?: string; to?: string }) =>
      p.campaign_id === undefined
        ? read("kpi-daily-all", {
            advertiser_id: p.advertiser_id ?? null,
            from: p.from ?? null,
            to: p.to ?? null,
          })
        : read("kpi-daily-campaign", {
            campaign_id: p.campaign_id,
            advertiser_id: p.advertiser_id ?? null,
            from: p.from ?? null,
            to: p.to ?? null,
          }),
    dailyReport: (p: { campaign_id?: number; advertiser_id?: number; from?: string; to?: string }) =>
      read("kpi-daily-campaign", {
        campaign_id: p.campaign_id ?? null,
        advertiser_id: p.advertiser_id ?? null,
        from: p.from ?? null,
        to: p.to ?? null,
      }),
    advertisers: (p: { advertiser_id?: number }) =>
      read("kpi-advertisers", { advertiser_id: p.advertiser_id ?? null }),
    pacing: (p: { advertiser_id?: number }) => read("kpi-pacing", { advertiser_id: p.advertiser_id ?? null }),
    pacingAdvertisers: (p: { advertiser_id?: number }) =>
      read("kpi-pacing-advertisers", { advertiser_id: p.advertiser_id ?? null }),
  };
}

export type Kpis = ReturnType<typeof createKpis>;
