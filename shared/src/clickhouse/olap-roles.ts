import { TABLES, TRUNCATIONS_TABLE } from "../contract.ts";

/**
 * Who may do what in ClickHouse: the one source of truth for the users of `bun start`'s embedded
 * server (`embeddedOlapUsers`) and of docker compose (`olapUsersSql`, rendered into
 * compose/clickhouse-init.sh). The owner (compose's `CLICKHOUSE_USER`, `bun start`'s `default`)
 * holds every right and runs the migrations; no service connects as it.
 */

/** Tables the loader writes: the entity tables and the truncation log (migration 0001). */
export const ENTITY_TABLES = [...TABLES, TRUNCATIONS_TABLE] as const;
/** Tables the reporter's rebuild writes, with INSERT ... SELECT only (migration 0003). */
export const REPORT_TABLES = [
  "advertiser_campaigns",
  "advertiser_campaigns_impressions",
  "advertiser_campaigns_clicks",
  "advertiser_campaigns_totals_report",
  "advertiser_campaigns_daily_ctr_report",
] as const;
/** The reporter's per-bucket fact counts, which the daily reports sum (migration 0007). */
export const BUCKET_TABLES = ["impressions_buckets", "clicks_buckets"] as const;
/**
 * Every fact version again, sorted by (bucket, campaign_id, id) (migration 0008). Their
 * materialized views write them, with the rights of the owner who created the views, on each
 * INSERT into impressions or clicks: no service holds a right to write them.
 */
export const KEYED_TABLES = ["impressions_keyed", "clicks_keyed"] as const;

export const OLAP_USERS = ["loader", "reporter", "extractor", "reader"] as const;
export type OlapUser = (typeof OLAP_USERS)[number];

/** The ClickHouse user name of each component. */
export const olapUserName = (user: OlapUser) => `adpipe_${user}`;

/**
 * The tables the verifier (the extractor's user) may delete rows from: the replicated tables and
 * the fact tables' keyed copies, where it removes versions PostgreSQL never issued
 * (docs/verifier.md, "Versions above PostgreSQL's"). A lightweight DELETE by (id, _version).
 */
export const VERIFIER_PURGE_TABLES = [...TABLES, ...KEYED_TABLES] as const;

/**
 * What the loader needs to follow PostgreSQL's columns (docs/schema-changes.md): add and widen
 * columns of the replicated tables, and recreate their `_current` views (CREATE OR REPLACE is a
 * CREATE and a DROP). Nothing else: it cannot drop a column, a table or another view.
 */
export const SCHEMA_PRIVILEGES = [
  "ALTER ADD COLUMN",
  "ALTER MODIFY COLUMN",
  "CREATE VIEW",
  "DROP VIEW",
] as const;
export type SchemaPrivilege = (typeof SCHEMA_PRIVILEGES)[number];

/** The loader's schema rights, table by table and view by view. */
const schemaGrants = (database: string): OlapGrant[] =>
  TABLES.flatMap((table): OlapGrant[] => [
    { privilege: "ALTER ADD COLUMN", database, table },
    { privilege: "ALTER MODIFY COLUMN", database, table },
    { privilege: "CREATE VIEW", database, table: `${table}_current` },
    { privilege: "DROP VIEW", database, table: `${table}_current` },
  ]);

/** `GRANT <privilege> ON <database>.<table>`; `*` is every table. */
export interface OlapGrant {
  privilege: "SELECT" | "INSERT" | "ALTER DELETE" | SchemaPrivilege;
  database: string;
  table: string;
}

export interface OlapAccess {
  grants: OlapGrant[];
  /**
   * ClickHouse's `readonly` setting of the user: 2 = reads only, may change settings (not
   * `readonly` itself). Not 1: Tabix sets `add_http_cors_header` and others on every request and
   * cannot log in as a readonly=1 user (tabixio/tabix#18); the writes are refused either way.
   */
  readonly?: 2;
}

/**
 * Each user's rights in `database`. Every service reads the whole database (the loader its own
 * bookkeeping, the reporter the entity tables and `_current` views it rebuilds from, the
 * verifier everything it compares); writes are INSERT only, and only where the component writes,
 * except the verifier's DELETE of forged versions (`VERIFIER_PURGE_TABLES`) and the loader's
 * schema changes (`SCHEMA_PRIVILEGES`).
 * The reporter's rebuild is INSERT ... SELECT into the report tables (services/reporter/sql/
 * rebuild-*.sql) plus its `reported_batches` rows: no ALTER, DELETE, TRUNCATE or EXCHANGE.
 */
export function olapAccess(database: string): Record<OlapUser, OlapAccess> {
  const select = (db: string): OlapGrant => ({ privilege: "SELECT", database: db, table: "*" });
  const insert = (tables: readonly string[]) =>
    tables.map((table): OlapGrant => ({ privilege: "INSERT", database, table }));
  return {
    loader: {
      grants: [select(database), ...insert([...ENTITY_TABLES, "loaded_batches"]), ...schemaGrants(database)],
    },
    reporter: {
      grants: [select(database), ...insert([...REPORT_TABLES, ...BUCKET_TABLES, "reported_batches"])],
    },
    extractor: {
      grants: [
        select(database),
        ...VERIFIER_PURGE_TABLES.map((table): OlapGrant => ({ privilege: "ALTER DELETE", database, table })),
      ],
    },
    // Tabix, dashboards, analysts: the tables, the views and the original design's `_seed` views.
    reader: { grants: [select(database), select(`${database}_seed`)], readonly: 2 },
  };
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const sqlString = (value: string) => `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

/**
 * The statements that create the users on a ClickHouse server, run by the owner. Idempotent
 * (`IF NOT EXISTS`; GRANT of a held right is a no-op), so running them again after a migration
 * added a table only adds what is missing. A password given as `$NAME` is left as it is, for a
 * shell to fill in (compose/clickhouse-init.sh); so is a database given as `${NAME}`.
 */
export function olapUsersSql(database: string, passwords: Record<OlapUser, string>): string[] {
  const placeholder = (s: string) => /^\$\{?[A-Z_]+\}?$/.test(s);
  if (!IDENTIFIER.test(database) && !placeholder(database))
    throw new Error(`invalid ClickHouse database name ${JSON.stringify(database)}`);
  const access = olapAccess(database);
  return OLAP_USERS.flatMap((user) => {
    const name = olapUserName(user);
    const password = passwords[user];
    const literal = placeholder(password) ? `'${password}'` : sqlString(password);
    const { grants, readonly } = access[user];
    return [
      `CREATE USER IF NOT EXISTS ${name} IDENTIFIED WITH sha256_password BY ${literal}${readonly ? ` SETTINGS readonly = ${readonly}` : ""}`,
      ...grants.map((g) => `GRANT ${g.privilege} ON ${g.database}.${g.table} TO ${name}`),
    ];
  });
}

/**
 * The same users for the embedded server (tools/clickhouse-embedded, access.ts), which enforces
 * them in its HTTP layer: INSERT grants by statement target, everything else under `readonly`.
 */
export function embeddedOlapUsers(
  database: string,
  passwords: Record<OlapUser, string>,
): Record<string, { password: string; grants: OlapGrant[]; readonly?: 2 }> {
  const access = olapAccess(database);
  return Object.fromEntries(
    OLAP_USERS.map((user) => [olapUserName(user), { password: passwords[user], ...access[user] }]),
  );
}
