import type { TableName } from "@adpipe/shared/contract";
import type { ClickHouseClient } from "@clickhouse/client";
import { bindKeySets } from "./key-sets.ts";
import type { Queries } from "./sql.ts";
import {
  addFactKeys,
  dayParams,
  type EventPlan,
  emptyTouched,
  MAX_DATE,
  MIN_DATE,
  type Touched,
  windowParams,
} from "./touched.ts";

/** The five analytical tables in the order a rebuild writes them (daily CTR reads the two before it). */
export const REPORT_TABLES = [
  "advertiser_campaigns_impressions",
  "advertiser_campaigns_clicks",
  "advertiser_campaigns_daily_ctr_report",
  "advertiser_campaigns",
  "advertiser_campaigns_totals_report",
] as const;

const DAILY_QUERIES = ["rebuild-impressions", "rebuild-clicks", "rebuild-daily-ctr"] as const;
const CAMPAIGN_QUERIES = ["rebuild-advertiser-campaigns", "rebuild-totals"] as const;

/** Reads and writes of a rebuild; every statement comes from services/reporter/sql. */
export function createRebuilder(clickhouse: ClickHouseClient, queries: Queries) {
  async function rows<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    // Key sets (xid windows here) go in the body: see key-sets.ts.
    const bound = bindKeySets(query, params);
    const rs = await clickhouse.query({
      query: bound.query,
      query_params: bound.query_params,
      format: "JSONEachRow",
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0, ...bound.clickhouse_settings },
    });
    return (await rs.json()) as T[];
  }

  return {
    rows,

    /** The report keys the plan's windows touched, read from the entity tables' stored versions. */
    async findTouched(plan: EventPlan): Promise<Touched> {
      const touched = emptyTouched();
      touched.full = plan.full;
      if (plan.full) return touched;
      await Promise.all(
        (Object.entries(plan.windows) as [TableName, NonNullable<EventPlan["windows"][TableName]>][]).map(
          async ([table, windows]) => {
            if (windows.length === 0) return;
            const params = windowParams(windows);
            if (table === "impressions" || table === "clicks") {
              if (plan.deletes.has(table)) {
                const [row] = await rows<{ lost: number }>(queries["lost-facts"], { ...params, table });
                if (Number(row?.lost) > 0) touched.full = true;
              }
              addFactKeys(
                touched,
                await rows<{ campaign_id: number; date: string | null }>(queries["touched-facts"], {
                  ...params,
                  table,
                }),
              );
            } else {
              const query =
                table === "campaign" ? queries["touched-campaigns"] : queries["touched-advertisers"];
              for (const r of await rows<{ campaign_id: number }>(query, params)) {
                touched.campaigns.add(Number(r.campaign_id));
                // A campaign change can move its advertiser or start date: all its days change.
                if (table === "campaign") touched.allDayCampaigns.add(Number(r.campaign_id));
              }
            }
          },
        ),
      );
      // A deleted row whose campaign is no longer known: only a full rebuild is exact.
      if (touched.full) return { ...emptyTouched(), full: true };
      return touched;
    },

    /**
     * Writes the touched keys' new rows, one INSERT per table, all with `version`, in two rounds
     * of statements that run at once: first the daily counts and the campaign dimension (they
     * read only the entity tables), then the daily CTR report and the totals (they read the daily
     * counts just written). A reader of any one table sees either the old or the new row of each
     * key. `timings` receives each statement's milliseconds. If a statement fails, the others of
     * its round still finish before the rebuild fails (and is retried: every statement rewrites
     * whole keys under a newer version).
     */
    async write(touched: Touched, version: bigint, reportDate: string, timings: Record<string, number> = {}) {
      const written: string[] = [];
      const run = async (
        name: (typeof DAILY_QUERIES)[number] | (typeof CAMPAIGN_QUERIES)[number],
        params: object,
      ) => {
        const t = performance.now();
        // The touched keys go in the body, however many there are: see key-sets.ts.
        const bound = bindKeySets(queries[name], params as Record<string, unknown>);
        await clickhouse.command(bound);
        timings[name] = Math.round((performance.now() - t) * 10) / 10;
      };
      const round = async (statements: Promise<void>[]) => {
        const failed = (await Promise.allSettled(statements)).find((r) => r.status === "rejected");
        if (failed) throw (failed as PromiseRejectedResult).reason;
      };
      const common = { version: version.toString(), report_date: reportDate };
      const dailyFull = touched.full;
      const daily = dailyFull || touched.days.size > 0 || touched.allDayCampaigns.size > 0;
      const dailyParams = dailyFull
        ? {
            ...common,
            full: 1,
            day_campaigns: [],
            day_dates: [],
            all_day_campaigns: [],
            day_campaign_ids: [],
            min_date: MIN_DATE,
            max_date: MAX_DATE,
          }
        : { ...common, full: 0, ...dayParams(touched) };
      const campaignsFull = touched.full || touched.allCampaigns;
      const campaigns = campaignsFull || touched.campaigns.size > 0;
      const campaignParams = {
        ...common,
        full: campaignsFull ? 1 : 0,
        campaigns: campaignsFull ? [] : [...touched.campaigns],
      };
      await round([
        ...(daily ? [run("rebuild-impressions", dailyParams), run("rebuild-clicks", dailyParams)] : []),
        ...(campaigns ? [run("rebuild-advertiser-campaigns", campaignParams)] : []),
      ]);
      await round([
        ...(daily ? [run("rebuild-daily-ctr", dailyParams)] : []),
        ...(campaigns ? [run("rebuild-totals", campaignParams)] : []),
      ]);
      if (daily) written.push(...REPORT_TABLES.slice(0, 3));
      if (campaigns) written.push(...REPORT_TABLES.slice(3));
      return written;
    },
  };
}

export type Rebuilder = ReturnType<typeof createRebuilder>;
