import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Where the reporter's SQL lives: one statement per file, `{name:Type}` query parameters. */
export const sqlFolder = join(import.meta.dir, "..", "sql");

const QUERIES = [
  "touched-buckets",
  "rebuild-impressions-buckets",
  "rebuild-clicks-buckets",
  "rebuild-impressions-pairs",
  "rebuild-clicks-pairs",
  "impressions-bucket-days",
  "clicks-bucket-days",
  "touched-campaigns",
  "touched-advertisers",
  "touched-bid-pairs",
  "rebuild-impressions",
  "rebuild-clicks",
  "rebuild-daily-ctr",
  "rebuild-impressions-listed",
  "rebuild-clicks-listed",
  "rebuild-daily-ctr-listed",
  "rebuild-advertiser-campaigns-listed",
  "rebuild-totals-listed",
  "rebuild-advertiser-campaigns",
  "rebuild-totals",
  "max-version",
  "report-state",
  "report-counts",
  "kpi-campaigns",
  "kpi-top",
  "kpi-daily-campaign",
  "kpi-daily-all",
  "kpi-advertisers",
  "kpi-pacing",
  "kpi-pacing-advertisers",
  "table-counts",
  "unreported-batches",
  "progress-status",
] as const;
export type QueryName = (typeof QUERIES)[number];

/**
 * The bucket recounts price what they count (docs/kpis.md, "Spend and cost"): a click at the
 * bid in force when it happened (joined by _click-price.sql), an impression at nothing.
 */
const PRICED_CLICKS = {
  fact: "clicks",
  price_join: "{{click_price}}",
  price: "coalesce(if(f.created_at IS NULL, e.last_bid, s.bid), e.first_bid, cc.bid, toDecimal64(0, 2))",
};
const UNPRICED_IMPRESSIONS = { fact: "impressions", price_join: "", price: "toDecimal64(0, 2)" };

/**
 * Queries that are one file for several tables: the bucket counts and daily counts of impressions
 * and of clicks are the same statements over a different fact table, so `{{fact}}` in the file
 * names it. A `-listed` variant includes another fragment in place of one (`fragments`).
 */
const SHARED_FILES: Partial<
  Record<QueryName, { file: string; vars?: Record<string, string>; fragments?: Record<string, string> }>
> = {
  "rebuild-impressions": { file: "rebuild-daily-counts", vars: { fact: "impressions" } },
  "rebuild-clicks": { file: "rebuild-daily-counts", vars: { fact: "clicks" } },
  "rebuild-impressions-buckets": { file: "rebuild-buckets", vars: UNPRICED_IMPRESSIONS },
  "rebuild-clicks-buckets": { file: "rebuild-buckets", vars: PRICED_CLICKS },
  "rebuild-impressions-pairs": { file: "rebuild-bucket-pairs", vars: UNPRICED_IMPRESSIONS },
  "rebuild-clicks-pairs": { file: "rebuild-bucket-pairs", vars: PRICED_CLICKS },
  // Variants for explicit keys only (see _touched-days-listed.sql).
  "rebuild-impressions-listed": {
    file: "rebuild-daily-counts",
    vars: { fact: "impressions" },
    fragments: { touched_days: "touched_days_listed" },
  },
  "rebuild-clicks-listed": {
    file: "rebuild-daily-counts",
    vars: { fact: "clicks" },
    fragments: { touched_days: "touched_days_listed" },
  },
  "rebuild-daily-ctr-listed": {
    file: "rebuild-daily-ctr",
    fragments: { touched_days: "touched_days_listed" },
  },
  // Variants for listed campaigns only (see _touched-campaigns-listed.sql).
  "rebuild-advertiser-campaigns-listed": {
    file: "rebuild-advertiser-campaigns",
    fragments: { touched_campaigns: "touched_campaigns_listed" },
  },
  "rebuild-totals-listed": {
    file: "rebuild-totals",
    fragments: { touched_campaigns: "touched_campaigns_listed" },
  },
  "impressions-bucket-days": { file: "bucket-days", vars: { fact: "impressions" } },
  "clicks-bucket-days": { file: "bucket-days", vars: { fact: "clicks" } },
};
export type Queries = Readonly<Record<QueryName, string>>;

const stripComments = (sql: string) =>
  sql
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("--"))
    .join("\n")
    .trim();

/**
 * Reads every query once at start-up. Files starting with `_` are fragments shared by several
 * queries (the touched keys), included where a query says `{{name}}` (`_touched-days.sql` is
 * `{{touched_days}}`); a missing file or fragment fails start-up, not a request.
 */
export function loadQueries(folder = sqlFolder): Queries {
  const fragments = new Map<string, string>();
  for (const file of readdirSync(folder).filter((f) => f.startsWith("_") && f.endsWith(".sql"))) {
    const key = file.slice(1, -4).replaceAll("-", "_");
    fragments.set(key, stripComments(readFileSync(join(folder, file), "utf8")));
  }
  const out: Partial<Record<QueryName, string>> = {};
  for (const name of QUERIES) {
    const shared = SHARED_FILES[name];
    const text = stripComments(readFileSync(join(folder, `${shared?.file ?? name}.sql`), "utf8"));
    // A fragment or variable may name another fragment: expand until none is left.
    let expanded = text;
    for (let depth = 0; /\{\{\w+\}\}/.test(expanded); depth++) {
      if (depth === 3) throw new Error(`${name}.sql: fragments nested too deep`);
      expanded = expanded.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
        const fragment = shared?.vars?.[key] ?? fragments.get(shared?.fragments?.[key] ?? key);
        if (fragment === undefined) throw new Error(`${name}.sql: unknown fragment {{${key}}}`);
        return fragment;
      });
    }
    out[name] = expanded;
  }
  return Object.freeze(out as Record<QueryName, string>);
}
