import type { TableName } from "@adpipe/shared/contract";
import type { LoadedEvent } from "@adpipe/shared/messages/loaded";

/** What one rebuild writes: report keys, or everything. */
export interface Touched {
  full: boolean;
  /** Every campaign-level row, daily rows only as listed (the UTC date changed). */
  allCampaigns: boolean;
  /** Campaign-level rows (advertiser_campaigns, totals report). */
  campaigns: Set<number>;
  /** Campaigns whose every day is rebuilt (their advertiser or start date may have changed). */
  allDayCampaigns: Set<number>;
  /** (campaign, day) keys of the daily tables, as `campaign|YYYY-MM-DD`. */
  days: Set<string>;
}

export const emptyTouched = (): Touched => ({
  full: false,
  allCampaigns: false,
  campaigns: new Set(),
  allDayCampaigns: new Set(),
  days: new Set(),
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
  for (const e of events) {
    if (e.kinds.includes("truncate")) plan.full = true;
    if (e.kinds.includes("delete")) plan.deletes.add(e.table);
    const list = plan.windows[e.table] ?? [];
    for (const w of e.windows) list.push({ from: BigInt(w.from), to: BigInt(w.to) });
    plan.windows[e.table] = list;
    const wm = BigInt(e.watermark);
    const prev = plan.watermarks[e.table];
    if (prev === undefined || wm > prev) plan.watermarks[e.table] = wm;
  }
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

/** Pure: adds a fact table's touched rows (date null: a row without created_at, totals only). */
export function addFactKeys(t: Touched, rows: { campaign_id: number; date: string | null }[]): void {
  for (const r of rows) {
    const id = Number(r.campaign_id);
    t.campaigns.add(id);
    if (r.date) t.days.add(dayKey(id, r.date));
  }
}

/**
 * Rebuild parameters for the daily tables: the explicit (campaign, day) keys as parallel arrays,
 * plus the campaigns and date range the fact reads may touch (literal bounds let ClickHouse prune
 * granules; a campaign rebuilt on all its days lifts the date bound).
 */
export function dayParams(t: Touched) {
  const dayCampaigns: number[] = [];
  const dayDates: string[] = [];
  for (const key of t.days) {
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

/** Date32's range: no bound. */
export const MIN_DATE = "1900-01-01";
export const MAX_DATE = "2299-12-30";

/** How many keys a rebuild would write as literals (past REPORTER_MAX_TOUCHED_KEYS: a full rebuild). */
export const touchedSize = (t: Touched) => t.campaigns.size + t.allDayCampaigns.size + t.days.size;
