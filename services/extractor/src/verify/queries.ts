import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Column } from "@adpipe/shared/columns";
import { olapCanonicalText } from "./canonical.ts";

/** The verifier's ClickHouse statements: services/extractor/sql, one per file. */
const folder = join(import.meta.dir, "..", "..", "sql");

const read = (name: string) =>
  readFileSync(join(folder, `${name}.sql`), "utf8")
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("--"))
    .join("\n")
    .trim();

export interface TableQueries {
  range: string;
  rows: string;
  ids: string;
}

export interface VerifyQueries {
  /** A table's range, rows and ids statements, hashing the row text of these columns. */
  table: (columns: readonly Column[]) => TableQueries;
  versions: string;
  stored: string;
  purge: string;
  purgeKeyed: string;
  factKeys: string;
  bounds: string;
  next: string;
  dailyReport: string;
  totalsReport: string;
}

/**
 * Reads every statement once at start-up. `{{hash}}` is `_hash.sql` with `{{canon}}` replaced by
 * the row text of the columns compared (canonical.ts, built from PostgreSQL's catalog; column
 * names are plain identifiers from it, never input).
 */
export function loadVerifyQueries(): VerifyQueries {
  const hash = read("_hash");
  const templates = { range: read("verify-range"), rows: read("verify-rows"), ids: read("verify-ids") };
  return {
    table(columns) {
      const h = hash.replace("{{canon}}", olapCanonicalText(columns));
      return {
        range: templates.range.replace("{{hash}}", h),
        rows: templates.rows.replace("{{hash}}", h),
        ids: templates.ids.replace("{{hash}}", h),
      };
    },
    versions: read("verify-versions"),
    stored: read("verify-stored"),
    purge: read("verify-purge"),
    purgeKeyed: read("verify-purge-keyed"),
    factKeys: read("verify-fact-keys"),
    bounds: read("verify-bounds"),
    next: read("verify-next"),
    dailyReport: read("verify-daily-report"),
    totalsReport: read("verify-totals-report"),
  };
}
