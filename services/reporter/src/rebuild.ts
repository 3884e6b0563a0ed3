import { FACT_TABLES, type FactTable, isFactTable, type TableName } from "@adpipe/shared/contract";
import type { ClickHouseClient } from "@clickhouse/client";
import { bindKeySets } from "./key-sets.ts";
import type { Queries } from "./sql.ts";
import {
  addFactKeys,
  addPair,
  bucketParams,
  dayKeys,
  dayParams,
  type EventPlan,
  emptyTouched,
  type FactKey,
  MAX_DATE,
  MIN_DATE,
  pairParams,
  settlePairs,
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

const RECOUNT_QUERIES = {
  impressions: {
    recount: "rebuild-impressions-buckets",
    pairs: "rebuild-impressions-pairs",
    days: "impressions-bucket-days",
  },
  clicks: { recount: "rebuild-clicks-buckets", pairs: "rebuild-clicks-pairs", days: "clicks-bucket-days" },
} as const;

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
            if (isFactTable(table)) {
              // One row per group of one grouping set; the other sets' columns are NULL.
              const rows_ = await rows<{
                whole_bucket: number | null;
                pair_bucket: number | null;
                pair_campaign: number | null;
                key_campaign: number | null;
                key_date: string | null;
              }>(queries["touched-buckets"], { ...params, table: `${table}_keyed` });
              for (const r of rows_) {
                if (r.whole_bucket !== null) touched.buckets[table].add(Number(r.whole_bucket));
                else if (r.pair_bucket !== null && r.pair_campaign !== null)
                  addPair(touched, table, Number(r.pair_bucket), Number(r.pair_campaign));
                else if (r.key_campaign !== null)
                  touched.windowKeys[table].push({ campaign_id: Number(r.key_campaign), date: r.key_date });
              }
            } else if (table === "campaign_bids") {
              // A bid history change reprices its campaign's clicks: their pairs are recounted.
              for (const r of await rows<{ bucket: number; campaign_id: number }>(
                queries["touched-bid-pairs"],
                params,
              ))
                addPair(touched, "clicks", Number(r.bucket), Number(r.campaign_id));
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
      settlePairs(touched);
      return touched;
    },

    /**
     * Writes the touched keys' new rows, one INSERT per table, all with `version`, in two rounds
     * of statements that run at once: first the recounts of id buckets (migration 0007) and of
     * (bucket, campaign) pairs (0008) and the campaign dimension (they read only the entity
     * tables), with the read of the keys their stored rows name; then, with those and the
     * windows' keys added to `touched`, every report: the daily counts and the daily CTR (sums
     * of the buckets) and the totals (the daily rows of the days not rewritten, the buckets of
     * those that are). A reader of any one table sees either the old or the new row of each key.
     * `timings` receives each statement's milliseconds. If a statement fails, the others of its
     * round still finish before the rebuild fails (and is retried: every statement rewrites whole
     * keys under a newer version, and a retry finds the keys of buckets already recounted,
     * tombstones included).
     */
    async write(touched: Touched, version: bigint, reportDate: string, timings: Record<string, number> = {}) {
      const written: string[] = [];
      const run = async (name: keyof Queries, params: object) => {
        const t = performance.now();
        // The touched keys go in the body, however many there are: see key-sets.ts.
        const bound = bindKeySets(queries[name], params as Record<string, unknown>);
        await clickhouse.command(bound);
        // A -listed variant is the same statement: timed under its name.
        timings[name.replace(/-listed$/, "")] = Math.round((performance.now() - t) * 10) / 10;
      };
      const round = async (statements: Promise<void>[]) => {
        const failed = (await Promise.allSettled(statements)).find((r) => r.status === "rejected");
        if (failed) throw (failed as PromiseRejectedResult).reason;
      };
      const common = { version: version.toString(), report_date: reportDate };
      // Facts whose counts change: whole buckets (migration 0007) or (bucket, campaign) pairs (0008).
      const wholes = FACT_TABLES.filter((f) => touched.full || touched.buckets[f].size > 0);
      const paired = touched.full ? [] : FACT_TABLES.filter((f) => touched.pairs[f].size > 0);
      const recounts = FACT_TABLES.filter((f) => wholes.includes(f) || paired.includes(f));
      // Pair arrays, once per fact: the recount and the stored-keys read take the same ones.
      const pairs = {
        impressions: pairParams(touched.pairs.impressions),
        clicks: pairParams(touched.pairs.clicks),
      };
      const campaignsDimension = () => touched.full || touched.allCampaigns || touched.campaigns.size > 0;
      const campaignParams = () => {
        const full = touched.full || touched.allCampaigns;
        return { ...common, full: full ? 1 : 0, campaigns: full ? [] : [...touched.campaigns] };
      };
      // Listed campaigns only: the statements without the every-campaign reads.
      const campaignQuery = (name: "rebuild-advertiser-campaigns" | "rebuild-totals") =>
        touched.full || touched.allCampaigns ? name : (`${name}-listed` as const);
      // Round 1. The dimension's campaigns are known before the recount (campaign and advertiser
      // changes); a fact change does not change a campaign's dimension row. The keys the recount
      // can change are read at the same time: the buckets' stored keys (bucket-days.sql, any
      // version, so whether it sees the recount's rows or not) plus the windows' new keys.
      const dimension = campaignsDimension();
      const storedKeys: Partial<Record<FactTable, FactKey[]>> = {};
      const readKeys = async (f: FactTable) => {
        const t = performance.now();
        storedKeys[f] = await rows<FactKey>(queries[RECOUNT_QUERIES[f].days], {
          buckets: [...touched.buckets[f]],
          ...pairs[f],
        });
        // With both facts recounted, the slower of the two reads.
        const ms = Math.round((performance.now() - t) * 10) / 10;
        timings["bucket-days"] = Math.max(ms, timings["bucket-days"] ?? 0);
      };
      await round([
        ...wholes.map((f) =>
          run(RECOUNT_QUERIES[f].recount, {
            ...common,
            full: touched.full ? 1 : 0,
            ...bucketParams(touched.buckets[f]),
          }),
        ),
        ...paired.map((f) => run(RECOUNT_QUERIES[f].pairs, { ...common, ...pairs[f] })),
        ...(dimension ? [run(campaignQuery("rebuild-advertiser-campaigns"), campaignParams())] : []),
        ...(touched.full ? [] : recounts.map(readKeys)),
      ]);
      for (const f of recounts) {
        addFactKeys(touched, f, storedKeys[f] ?? []);
        addFactKeys(touched, f, touched.windowKeys[f]);
      }
      const fullDaily = {
        ...common,
        full: 1,
        day_campaigns: [],
        day_dates: [],
        all_day_campaigns: [],
        day_campaign_ids: [],
        min_date: MIN_DATE,
        max_date: MAX_DATE,
      };
      // A fact's daily table is rewritten where its own buckets moved (or every day of a changed
      // campaign); the daily CTR report where either did.
      const dailyOf = (f?: FactTable) =>
        touched.full
          ? fullDaily
          : touched.allDayCampaigns.size > 0 || dayKeys(touched, f).size > 0
            ? { ...common, full: 0, ...dayParams(touched, f) }
            : null;
      const factDaily = FACT_TABLES.map((f) => [f, dailyOf(f)] as const);
      // Only explicit keys: the statements without the whole-campaign reads.
      const listed = !touched.full && touched.allDayCampaigns.size === 0;
      const dailyQuery = (name: "rebuild-impressions" | "rebuild-clicks" | "rebuild-daily-ctr") =>
        listed ? (`${name}-listed` as const) : name;
      const ctrParams = dailyOf();
      const daily = ctrParams !== null;
      const campaigns = campaignsDimension();
      // Round 2, every report at once: the daily tables, the daily CTR and the totals all read the
      // bucket counts round 1 recounted (the totals the daily rows of the days no statement here
      // rewrites), none reads another's output.
      const keysOf = (f: FactTable) => dayParams(touched, f);
      const imp = keysOf("impressions");
      const clk = keysOf("clicks");
      const totalsParams = () => ({
        ...campaignParams(),
        rewrite_all: touched.full ? 1 : 0,
        all_day_campaigns: [...touched.allDayCampaigns],
        imp_day_campaigns: imp.day_campaigns,
        imp_day_dates: imp.day_dates,
        imp_min_date: imp.min_date,
        imp_max_date: imp.max_date,
        clk_day_campaigns: clk.day_campaigns,
        clk_day_dates: clk.day_dates,
        clk_min_date: clk.min_date,
        clk_max_date: clk.max_date,
      });
      await round([
        ...factDaily.flatMap(([f, params]) =>
          params
            ? [run(dailyQuery(f === "impressions" ? "rebuild-impressions" : "rebuild-clicks"), params)]
            : [],
        ),
        ...(ctrParams ? [run(dailyQuery("rebuild-daily-ctr"), ctrParams)] : []),
        ...(campaigns ? [run(campaignQuery("rebuild-totals"), totalsParams())] : []),
      ]);
      for (const [f, params] of factDaily) if (params) written.push(`advertiser_campaigns_${f}`);
      if (daily) written.push(REPORT_TABLES[2]);
      if (dimension) written.push(REPORT_TABLES[3]);
      if (campaigns) written.push(REPORT_TABLES[4]);
      return written;
    },
  };
}

export type Rebuilder = ReturnType<typeof createRebuilder>;
