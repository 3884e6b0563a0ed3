import { copyColumn } from "@adpipe/shared/columns";
import { readTableSchema } from "@adpipe/shared/columns/pg-catalog";
import { DELETE_COLUMNS, subjects, type TableName } from "@adpipe/shared/contract";
import { schemaColumns } from "@adpipe/shared/messages/delta";
import type { Pool } from "@adpipe/shared/pg";
import type { JetStreamClient } from "nats";
import { to as copyTo } from "pg-copy-streams";
import { type BatchLimits, splitRows } from "../copy-batches.ts";
import { createPublisher } from "../publisher.ts";
import type { ClickHouseSide, FactKey, PostgresSide } from "./sides.ts";

/** A row to re-publish as PostgreSQL has it, with the version it must carry to win. */
export interface UpsertRepair {
  id: number;
  version: bigint;
  xid: bigint;
}

/** A tombstone for an id ClickHouse shows but PostgreSQL no longer has. */
export interface TombstoneRepair {
  id: number;
  version: bigint;
  xid: bigint;
  /** For an impression or click: the campaign and time of the row it removes (ClickHouse's). */
  fact?: FactKey;
}

export interface RepairPlan {
  upserts: UpsertRepair[];
  tombstones: TombstoneRepair[];
  /** Ids that differ but are in flight (changed at or above the extractor's watermark). */
  inFlight: number[];
  /** Ids that no longer differ. */
  resolved: number[];
}

/**
 * Reads the candidates again (ClickHouse first, then PostgreSQL) and decides each one's repair.
 * Runs after the versions above PostgreSQL's were purged (forged.ts), so every stored version is
 * at most PostgreSQL's for the id. Versions (docs/verifier.md): a row PostgreSQL has is
 * re-published with its own version, unless ClickHouse stores a different row at that very
 * version (corruption), then with that version + 1 so it wins. A tombstone takes the delete
 * PostgreSQL recorded when that beats every stored version, else the greatest stored version + 1.
 * Ids in `republish` are re-published even when they look equal (their window is what matters).
 */
export async function planRepair(
  pg: PostgresSide,
  ch: ClickHouseSide,
  ids: number[],
  republish: ReadonlySet<number> = new Set(),
): Promise<RepairPlan> {
  const plan: RepairPlan = { upserts: [], tombstones: [], inFlight: [], resolved: [] };
  // Ids travel as query parameters (in the URL for ClickHouse): a bounded slice per read.
  for (let i = 0; i < ids.length; i += PLAN_SLICE) {
    const part = await planSlice(pg, ch, ids.slice(i, i + PLAN_SLICE), republish);
    plan.upserts.push(...part.upserts);
    plan.tombstones.push(...part.tombstones);
    plan.inFlight.push(...part.inFlight);
    plan.resolved.push(...part.resolved);
  }
  return plan;
}

const PLAN_SLICE = 5000;

async function planSlice(
  pg: PostgresSide,
  ch: ClickHouseSide,
  ids: number[],
  republish: ReadonlySet<number>,
): Promise<RepairPlan> {
  const plan: RepairPlan = { upserts: [], tombstones: [], inFlight: [], resolved: [] };
  const chRows = await ch.ids(ids);
  const chVersions = await ch.versions(ids);
  const pgRows = await pg.ids(ids);
  const watermark = await pg.watermark();
  const gone = ids.filter((id) => !pgRows.has(id) && chRows.has(id));
  const deletions = gone.length > 0 ? await pg.deletions(gone) : new Map();
  const shown = ids.filter((id) => chRows.has(id));
  const factKeys = shown.length > 0 ? await ch.factKeys(shown) : new Map<number, FactKey>();
  for (const id of ids) {
    const p = pgRows.get(id);
    const c = chRows.get(id);
    const stored = chVersions.get(id);
    if (p) {
      if (p.h === c && !republish.has(id)) plan.resolved.push(id);
      else if (p.xid >= watermark) plan.inFlight.push(id);
      else {
        // Equal rows (re-published after a purge) keep PostgreSQL's version: a duplicate.
        let version = p.h !== c && stored && stored.version >= p.version ? stored.version + 1n : p.version;
        // A fact ClickHouse shows under another campaign: first a tombstone naming that campaign
        // (fact tables sorted by campaign, migration 0008, keep the stale row otherwise), then the
        // row, one version above it.
        const shownKey = factKeys.get(id);
        if (shownKey && shownKey.campaignId !== null && shownKey.campaignId !== p.campaignId) {
          const floor = (stored?.version ?? 0n) + 1n;
          const tombstone = version - 1n >= floor ? version - 1n : floor;
          plan.tombstones.push({ id, version: tombstone, xid: p.xid, fact: shownKey });
          version = tombstone + 1n;
        }
        plan.upserts.push({ id, version, xid: p.xid });
      }
    } else if (c === undefined) plan.resolved.push(id);
    else {
      const d = deletions.get(id);
      if (d && d.xid >= watermark) plan.inFlight.push(id);
      else {
        const top = stored?.version ?? 0n;
        const version = d && d.version > top ? d.version : top + 1n;
        plan.tombstones.push({ id, version, xid: d?.xid ?? stored?.xid ?? 0n, fact: factKeys.get(id) });
      }
    }
  }
  return plan;
}

const window = (rows: { xid: bigint }[]) => {
  let from = rows[0]?.xid ?? 0n;
  let to = from;
  for (const r of rows) {
    if (r.xid < from) from = r.xid;
    if (r.xid > to) to = r.xid;
  }
  return { from: from.toString(), to: (to + 1n).toString() };
};

const list = (values: (number | bigint)[]) => `'{${values.join(",")}}'`;

export interface RepairDeps {
  pool: Pool;
  js: JetStreamClient;
  namespace: string;
  limits: BatchLimits;
  maxInFlight: number;
}

/**
 * Publishes the plan through the normal delta path (same subject, headers and loader). The
 * window headers span the repaired rows' transactions, so the reporter rebuilds what they touch.
 * `sequence` is the run's start time: a repeated repair is a new message, never a JetStream
 * duplicate of an earlier one.
 */
export async function publishRepair(
  deps: RepairDeps,
  table: TableName,
  plan: RepairPlan,
  runId: number,
): Promise<number> {
  const publisher = createPublisher({ js: deps.js, maxInFlight: deps.maxInFlight });
  const subject = subjects(deps.namespace).delta(table);
  let sequence = runId;
  if (plan.upserts.length > 0) {
    const client = await deps.pool.connect();
    let broken: Error | undefined;
    try {
      // The columns PostgreSQL has now, as the extractor's cycles read them.
      const schema = await readTableSchema(client, table);
      const columns = [
        ...schema.columns.map((c) => copyColumn(c, "t.")),
        "greatest(t._version, r.v) AS _version",
        "t._xid",
      ].join(", ");
      // COPY takes no parameters; ids and versions are integers this process computed.
      const sql = `COPY (SELECT ${columns} FROM ${table} AS t JOIN unnest(${list(plan.upserts.map((u) => u.id))}::bigint[], ${list(plan.upserts.map((u) => u.version))}::bigint[]) AS r(id, v) ON t.id = r.id) TO STDOUT`;
      for await (const batch of splitRows(client.query(copyTo(sql)), deps.limits)) {
        await publisher.publish({
          subject,
          table,
          kind: "upsert",
          columns: schemaColumns(schema),
          schema,
          window: window(plan.upserts),
          sequence: sequence++,
          ...batch,
        });
      }
    } catch (err) {
      broken = err as Error;
      throw err;
    } finally {
      client.release(broken);
    }
  }
  if (plan.tombstones.length > 0) {
    const encoder = new TextEncoder();
    const columns = DELETE_COLUMNS[table];
    // COPY text: NULL is \N; a campaign id and ClickHouse's DateTime64 text need no escaping.
    const text = (v: number | string | null | undefined) =>
      v === null || v === undefined ? "\\N" : String(v);
    const value: Record<string, (t: TombstoneRepair) => string | number | bigint> = {
      id: (t) => t.id,
      campaign_id: (t) => text(t.fact?.campaignId),
      created_at: (t) => text(t.fact?.createdAt),
      _version: (t) => t.version,
      _xid: (t) => t.xid,
      _deleted: () => 1,
    };
    const line = (t: TombstoneRepair) => columns.map((c) => value[c]?.(t)).join("\t");
    async function* lines() {
      for (const t of plan.tombstones) yield encoder.encode(`${line(t)}\n`);
    }
    for await (const batch of splitRows(lines(), deps.limits)) {
      await publisher.publish({
        subject,
        table,
        kind: "delete",
        columns,
        window: window(plan.tombstones),
        sequence: sequence++,
        ...batch,
      });
    }
  }
  const totals = await publisher.settle();
  return totals.rows;
}
