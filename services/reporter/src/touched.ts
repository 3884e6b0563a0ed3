import { FACT_TABLES, type FactTable, type TableName } from "@adpipe/shared/contract";
import { type LoadedEvent, mergeWindows } from "@adpipe/shared/messages/loaded";
import { OLAP_DATE_MAX, OLAP_DATE_MIN } from "@adpipe/shared/olap-range";

/** What one rebuild writes: report keys, or everything. */
export interface Touched {
  full: boolean;
  /** Every campaign-level row, daily rows only as listed (the UTC date changed). */
  allCampaigns: boolean;
  /** Campaign-level rows (advertiser_campaigns, totals report). */
  campaigns: Set<number>;
  /** Campaigns whose every day is rebuilt (their advertiser or start date may have changed). */
  allDayCampaigns: Set<number>;
  /** Id buckets of the fact tables to recount whole (migration 0007). */
  buckets: Record<FactTable, Set<number>>;
  /**
   * (bucket, campaign) pairs of the fact tables to recount (migration 0008): id bucket → campaigns
   * of the tombstones that name one.
   * A bucket also recounted whole has none (`settlePairs`).
   */
  pairs: Record<FactTable, Map<number, Set<number>>>;
  /** (campaign, day) keys a fact table's recounted buckets named: its daily table's keys. */
  factDays: Record<FactTable, Set<string>>;
  /**
   * (campaign, day) keys of the live row versions the windows wrote in a fact table (date null: no
   * created_at), added to factDays with the buckets' stored keys once the recount ran.
   */
  windowKeys: Record<FactTable, FactKey[]>;
}

/** A fact's report key; date null for a fact without created_at (it counts in totals only). */
export interface FactKey {
  campaign_id: number;
  date: string | null;
}

/**
 * Fact ids per bucket (migration 0007: `bucket = intDiv(id, 65536)`). A recount reads this many
 * ids at most per touched bucket; a day's sum reads (ids of the day / BUCKET_IDS) rows per
 * campaign. Stored counts depend on it: changing it needs a full rebuild.
 */
export const BUCKET_IDS = 65_536;

export const emptyTouched = (): Touched => ({
  full: false,
  allCampaigns: false,
  campaigns: new Set(),
  allDayCampaigns: new Set(),
  buckets: { impressions: new Set(), clicks: new Set() },
  pairs: { impressions: new Map(), clicks: new Map() },
  factDays: { impressions: new Set(), clicks: new Set() },
  windowKeys: { impressions: [], clicks: [] },
});

export interface Window {
  from: bigint;
  to: bigint;
}

/** What a batch of loaded events asks for: full (a truncate), and the windows per table. */
export interface EventPlan {
  full: boolean;
  windows: Partial<Record<TableName, Window[]>>;
  /** The highest watermark per table among the events. */
  watermarks: Partial<Record<TableName, bigint>>;
  /** Tables whose events carried deletes. */
  deletes: Set<TableName>;
}

/** Pure: merges a burst of loaded events into one plan. */
export function planEvents(events: LoadedEvent[]): EventPlan {
  const plan: EventPlan = { full: false, windows: {}, watermarks: {}, deletes: new Set() };
  const windows: Partial<Record<TableName, { from: string; to: string }[]>> = {};
  for (const e of events) {
    if (e.kinds.includes("truncate")) plan.full = true;
    if (e.kinds.includes("delete")) plan.deletes.add(e.table);
    const list = windows[e.table] ?? [];
    list.push(...e.windows);
    windows[e.table] = list;
    const wm = BigInt(e.watermark);
    const prev = plan.watermarks[e.table];
    if (prev === undefined || wm > prev) plan.watermarks[e.table] = wm;
  }
  // The union of the windows, not each one: a heal of thousands of batches reads a range or two.
  for (const [table, list] of Object.entries(windows) as [TableName, { from: string; to: string }[]][])
    plan.windows[table] = mergeWindows(list).map((w) => ({ from: BigInt(w.from), to: BigInt(w.to) }));
  return plan;
}

/** Query parameters covering a table's windows: the enclosing range (for the index) and the list. */
export function windowParams(windows: Window[]) {
  let from = windows[0]?.from ?? 0n;
  let to = windows[0]?.to ?? 0n;
  for (const w of windows) {
    if (w.from < from) from = w.from;
    if (w.to > to) to = w.to;
  }
  return {
    // bigint: the client writes them unquoted, as Array(UInt64) parameters must be.
    from,
    to,
    froms: windows.map((w) => w.from),
    tos: windows.map((w) => w.to),
  };
}

export const dayKey = (campaignId: number, date: string) => `${campaignId}|${date}`;

/** Pure: adds a fact table's touched keys (date null: a row without created_at, totals only). */
export function addFactKeys(t: Touched, fact: FactTable, rows: FactKey[]): void {
  for (const r of rows) {
    const id = Number(r.campaign_id);
    t.campaigns.add(id);
    if (r.date) t.factDays[fact].add(dayKey(id, r.date));
  }
}

/** The (campaign, day) keys of one fact's daily table, or (no fact) of the daily CTR. */
export function dayKeys(t: Touched, fact?: FactTable): Set<string> {
  const facts = fact ? [fact] : FACT_TABLES;
  return new Set(facts.flatMap((f) => [...t.factDays[f]]));
}

/**
 * Rebuild parameters for the daily tables: the explicit (campaign, day) keys as parallel arrays,
 * plus the campaigns and date range the fact reads may touch (literal bounds let ClickHouse prune
 * granules; a campaign rebuilt on all its days lifts the date bound). With `fact`: the keys of
 * that fact's daily table; without: of both (the daily CTR report).
 */
export function dayParams(t: Touched, fact?: FactTable) {
  const dayCampaigns: number[] = [];
  const dayDates: string[] = [];
  for (const key of dayKeys(t, fact)) {
    const [c, d] = key.split("|");
    dayCampaigns.push(Number(c));
    dayDates.push(d as string);
  }
  const sorted = [...dayDates].sort();
  const unbounded = t.allDayCampaigns.size > 0 || sorted.length === 0;
  return {
    day_campaigns: dayCampaigns,
    day_dates: dayDates,
    all_day_campaigns: [...t.allDayCampaigns],
    day_campaign_ids: [...new Set([...dayCampaigns, ...t.allDayCampaigns])],
    min_date: unbounded ? MIN_DATE : (sorted[0] as string),
    max_date: unbounded ? MAX_DATE : (sorted[sorted.length - 1] as string),
  };
}

/** Date32's whole range: no bound (facts beyond it are stored at its ends, shared/src/clickhouse/olap-range.ts). */
export const MIN_DATE = OLAP_DATE_MIN;
export const MAX_DATE = OLAP_DATE_MAX;

/**
 * How many keys a rebuild starts from (past REPORTER_MAX_TOUCHED_KEYS: a full rebuild): changed
 * campaigns and id buckets to recount. The (campaign, day) keys a recount finds are
 * not counted: their cost is a read of the days they name, bounded by the buckets.
 */
export const touchedSize = (t: Touched) =>
  t.campaigns.size +
  t.allDayCampaigns.size +
  t.buckets.impressions.size +
  t.buckets.clicks.size +
  pairCount(t.pairs.impressions) +
  pairCount(t.pairs.clicks);

const pairCount = (pairs: Map<number, Set<number>>) => {
  let n = 0;
  for (const campaigns of pairs.values()) n += campaigns.size;
  return n;
};

/**
 * A bucket with more touched campaigns than this is recounted whole: a pair reads at least one
 * granule of {fact}_keyed (1,024 rows), a whole bucket 65,536 ids of the fact table with FINAL.
 */
export const MAX_PAIRS_PER_BUCKET = 64;

/** Pure: adds a (bucket, campaign) pair of a fact table to recount. */
export function addPair(t: Touched, fact: FactTable, bucket: number, campaignId: number): void {
  const campaigns = t.pairs[fact].get(bucket) ?? new Set<number>();
  campaigns.add(campaignId);
  t.pairs[fact].set(bucket, campaigns);
}

/**
 * Pure: a bucket recounted whole needs no pairs, and one with more than MAX_PAIRS_PER_BUCKET
 * touched campaigns is cheaper recounted whole.
 */
export function settlePairs(t: Touched): void {
  for (const fact of FACT_TABLES) {
    for (const [bucket, campaigns] of t.pairs[fact]) {
      if (campaigns.size > MAX_PAIRS_PER_BUCKET) t.buckets[fact].add(bucket);
      if (t.buckets[fact].has(bucket)) t.pairs[fact].delete(bucket);
    }
  }
}

/**
 * Parameters of a recount of pairs: parallel arrays of buckets and campaigns, and the buckets
 * once (the first column of {fact}_keyed's sort key: a literal set selects their granules).
 */
export function pairParams(pairs: Map<number, Set<number>>) {
  const pairBuckets: number[] = [];
  const pairCampaigns: number[] = [];
  for (const [bucket, campaigns] of [...pairs].sort((a, b) => a[0] - b[0])) {
    for (const c of campaigns) {
      pairBuckets.push(bucket);
      pairCampaigns.push(c);
    }
  }
  return {
    pair_bucket_set: [...pairs.keys()].sort((a, b) => a - b),
    pair_buckets: pairBuckets,
    pair_campaigns: pairCampaigns,
  };
}

/**
 * Parameters of a recount of `buckets`: the list, and an id range enclosing them (a literal range
 * lets ClickHouse select the primary key's granules; intDiv truncates toward zero, so bucket 0
 * also holds negative ids, and the range is one bucket wider on each side).
 */
export function bucketParams(buckets: Set<number>) {
  const list = [...buckets].sort((a, b) => a - b);
  const lo = list[0] ?? 0;
  const hi = list[list.length - 1] ?? 0;
  return {
    bucket_ids: BUCKET_IDS,
    buckets: list,
    min_id: (lo - 1) * BUCKET_IDS,
    max_id: (hi + 2) * BUCKET_IDS,
  };
}
