import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TABLES, type TableName } from "@adpipe/shared/contract";

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
  table: Record<TableName, TableQueries>;
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
 * the table's `_canon-<table>.sql`: the one place the ClickHouse side of the checksum is written.
 */
export function loadVerifyQueries(): VerifyQueries {
  const hash = read("_hash");
  const table = {} as Record<TableName, TableQueries>;
  for (const t of TABLES) {
    const h = hash.replace("{{canon}}", read(`_canon-${t}`));
    const fill = (name: string) => read(name).replace("{{hash}}", h);
    table[t] = { range: fill("verify-range"), rows: fill("verify-rows"), ids: fill("verify-ids") };
  }
  return {
    table,
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
