import { queryRows } from "@adpipe/shared/clickhouse";
import { type Column, olapDefault, olapType, type TableSchema } from "@adpipe/shared/columns";
import { compatibility, widenedType } from "@adpipe/shared/columns/olap-compat";
import { isTableName, type TableName } from "@adpipe/shared/contract";
import { currentViewSql, VERSION_COLUMNS } from "@adpipe/shared/current-view";
import type { SchemaChangedEvent } from "@adpipe/shared/messages/schema-changed";
import { renderForCluster } from "@adpipe/shared/olap-cluster";
import type { ClickHouseClient } from "@clickhouse/client";

/**
 * A column ClickHouse cannot take as PostgreSQL now has it (a type change that is not a safe
 * widening): the table's batches wait in JetStream, in order, until someone resolves it.
 */
export class SchemaBlockedError extends Error {
  readonly code = "schema_blocked";
  constructor(
    readonly table: TableName,
    readonly column: string,
    readonly pgType: string,
    readonly have: string,
    readonly want: string,
  ) {
    super(
      `${table}.${column} is ${pgType} in PostgreSQL, which ClickHouse's ${have} cannot hold (it needs ${want}): ` +
        `change the ClickHouse column (ALTER TABLE ${table} MODIFY COLUMN ${column} ${want}, or copy the table) ` +
        `or PostgreSQL's back; the table's batches wait in JetStream and load by themselves once it can`,
    );
  }
}

export interface SchemaSyncOptions {
  clickhouse: ClickHouseClient;
  /** CLICKHOUSE_CLUSTER: every change runs ON CLUSTER and waits for every replica. */
  cluster?: string;
  /** Told of each change made (and of nothing else). */
  onChange?: (event: SchemaChangedEvent) => void;
}

type Described = Map<string, string>;

/**
 * Keeps ClickHouse's versioned tables and their `_current` views in step with the columns the
 * deltas carry (docs/schema-changes.md): before an insert whose schema it has not checked, it adds
 * the columns ClickHouse lacks, widens the ones a safe type change needs, recreates the view, and
 * throws SchemaBlockedError for a change it cannot make. Every statement is idempotent (IF NOT
 * EXISTS, the same view text), so loaders running side by side converge on the same tables.
 */
export function createSchemaSync(o: SchemaSyncOptions) {
  /** `<table>|<fingerprint>` already checked: the common case costs one Set lookup. */
  const checked = new Set<string>();
  let database: string | undefined;
  const settings = o.cluster ? { alter_sync: "2" as const } : {};

  async function db(): Promise<string> {
    database ??= (await queryRows<{ db: string }>(o.clickhouse, "SELECT currentDatabase() AS db"))[0]?.db;
    if (!database) throw new Error("ClickHouse named no current database");
    return database;
  }

  async function describe(table: string): Promise<Described> {
    const rows = await queryRows<{ name: string; type: string }>(
      o.clickhouse,
      "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {table:String} ORDER BY position",
      { table },
    );
    return new Map(rows.map((r) => [r.name, r.type]));
  }

  async function run(statement: string): Promise<void> {
    const query = o.cluster ? renderForCluster(statement, o.cluster) : statement;
    await o.clickhouse.command({ query, clickhouse_settings: settings });
  }

  /** The view lists the table's columns in the table's order; re-read after writing, as another loader may write it too. */
  async function syncView(table: TableName): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      // Names and types: a view keeps the types it was created with, so a widened column needs it anew.
      const columns = [...(await describe(table))].filter(
        ([c]) => !(VERSION_COLUMNS as readonly string[]).includes(c),
      );
      const view = [...(await describe(`${table}_current`))];
      if (view.join(";") === columns.join(";")) return;
      await run(
        currentViewSql(
          await db(),
          table,
          columns.map(([c]) => c),
        ),
      );
    }
    throw new Error(`${table}_current: its columns kept changing while it was being recreated`);
  }

  /** Adds or widens `column` as needed; returns the change made, if any. */
  async function follow(
    table: TableName,
    column: Column,
    have: string | undefined,
  ): Promise<SchemaChangedEvent | undefined> {
    const want = olapType(column);
    const at = () => new Date().toISOString();
    const base = { table, column: column.name, pgType: column.type };
    if (have === undefined) {
      const fallback = olapDefault(column);
      await run(
        `ALTER TABLE ${await db()}.${table} ADD COLUMN IF NOT EXISTS ${column.name} ${want}${fallback === undefined ? "" : ` DEFAULT ${fallback}`}`,
      );
      return { ...base, change: "add_column", to: want, at: at() };
    }
    const fit = compatibility(have, want, column.name);
    if (fit === "unsafe") throw new SchemaBlockedError(table, column.name, column.type, have, want);
    if (fit !== "widen") return undefined;
    const to = widenedType(have, want);
    await run(`ALTER TABLE ${await db()}.${table} MODIFY COLUMN ${column.name} ${to}`);
    return { ...base, change: "widen_column", from: have, to, at: at() };
  }

  return {
    /** Makes `target` able to take batches of `schema`; resolves at once when it already was. */
    async ensure(target: string, schema: TableSchema | undefined): Promise<void> {
      if (!schema || !isTableName(target)) return;
      const key = `${target}|${schema.fingerprint}`;
      if (checked.has(key)) return;
      const have = await describe(target);
      const changes: SchemaChangedEvent[] = [];
      for (const column of schema.columns) {
        const change = await follow(target, column, have.get(column.name));
        if (change) changes.push(change);
      }
      await syncView(target);
      checked.add(key);
      for (const change of changes) o.onChange?.(change);
    },
  };
}

export type SchemaSync = ReturnType<typeof createSchemaSync>;
