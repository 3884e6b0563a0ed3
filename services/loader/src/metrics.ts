import { TABLES, type TableName } from "@adpipe/shared/contract";
import {
  counter,
  FRESHNESS_BUCKETS,
  gauge,
  histogram,
  type Registry,
  ROW_BUCKETS,
  SECOND_BUCKETS,
} from "@adpipe/shared/metrics";

/** Prometheus figures of the loader; `pending` is read from the consumers when scraped. */
export function createLoaderMetrics(
  registry: Registry,
  pending?: (table: TableName) => Promise<{ pending: number; unacknowledged: number } | null>,
  deadLetters?: () => Promise<{ table: string; by: string; count: number }[] | null>,
) {
  gauge(
    registry,
    "adpipe_dead_letters",
    "Messages waiting in the dead-letter stream for an operator, per table and by the service that set them aside (loader: delta batches; reporter: loaded events)",
    ["table", "by"],
    async function collect() {
      const counts = await deadLetters?.();
      if (!counts) return;
      this.reset();
      for (const c of counts) this.set({ table: c.table, by: c.by }, c.count);
    },
  );
  const errors = counter(registry, "adpipe_loader_errors_total", "Failed inserts by kind", ["table", "kind"]);
  // Every series from 0: increase() over a window then sees the first error too.
  for (const table of TABLES)
    for (const kind of ["transient", "rejected", "invalid", "announce"]) errors.inc({ table, kind }, 0);
  return {
    rows: counter(registry, "adpipe_loader_rows_total", "Rows inserted into ClickHouse", ["table"]),
    batches: counter(registry, "adpipe_loader_batches_total", "Delta batches inserted", ["table"]),
    inserts: counter(registry, "adpipe_loader_inserts_total", "INSERT statements (coalesced batches)", [
      "table",
    ]),
    events: counter(registry, "adpipe_loader_events_published_total", "adpipe.loaded events published", [
      "table",
    ]),
    deadLetters: counter(registry, "adpipe_loader_dead_letters_total", "Batches set aside", [
      "table",
      "kind",
    ]),
    errors,
    schemaChanges: counter(
      registry,
      "adpipe_loader_schema_changes_total",
      "Changes the loader made to a ClickHouse table to follow PostgreSQL's columns (add_column, widen_column)",
      ["table", "change"],
    ),
    schemaBlocked: gauge(
      registry,
      "adpipe_loader_schema_blocked",
      "1 while the table's batches wait for a schema change ClickHouse cannot take (docs/schema-changes.md)",
      ["table"],
    ),
    insertSeconds: histogram(
      registry,
      "adpipe_loader_insert_duration_seconds",
      "Duration of one INSERT",
      SECOND_BUCKETS,
      ["table"],
    ),
    insertRows: histogram(registry, "adpipe_loader_insert_rows", "Rows per INSERT", ROW_BUCKETS, ["table"]),
    lag: histogram(
      registry,
      "adpipe_loader_lag_seconds",
      "From a batch's publication on JetStream to its acknowledged insert",
      SECOND_BUCKETS,
      ["table"],
    ),
    freshness: histogram(
      registry,
      "adpipe_loader_freshness_seconds",
      "From a batch's commit in PostgreSQL (Adpipe-Committed-By: the extractor's snapshot) to its rows visible in ClickHouse, per batch",
      FRESHNESS_BUCKETS,
      ["table"],
    ),
    pending: gauge(
      registry,
      "adpipe_loader_consumer_pending",
      "Batches waiting in the table's durable consumer (not yet delivered)",
      ["table"],
      async function collect() {
        if (!pending) return;
        for (const table of TABLES) {
          const p = await pending(table);
          if (p) this.set({ table }, p.pending + p.unacknowledged);
        }
      },
    ),
  };
}

export type LoaderMetrics = ReturnType<typeof createLoaderMetrics>;
