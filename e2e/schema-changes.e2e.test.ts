// Schema changes without a deploy (issue #36, docs/schema-changes.md): columns added in
// PostgreSQL under a continuous writer (the fault suite's mix over 50 campaigns, which knows
// nothing of them) reach ClickHouse, `<table>_current` and the verifier by themselves; a dropped
// column stays in ClickHouse unfilled; a type change ClickHouse cannot take stops that table
// only, says why, and flows again once ClickHouse's column is changed.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { subjects, type TableName } from "@adpipe/shared/contract";
import { type SchemaChangedEvent, schemaChangedEvent } from "@adpipe/shared/messages/schema-changed";
import { waitFor } from "@adpipe/shared/testing";
import { createPipelineWorld, createTestVerifier, type PipelineWorld } from "@adpipe/testing";
import { compareEverything } from "@adpipe/testing/truth";
import type { Subscription } from "nats";
import { seed, startWriter } from "./faults/writer.ts";

let w: PipelineWorld;
let campaigns: number[];
let sub: Subscription;
const events: SchemaChangedEvent[] = [];

beforeAll(async () => {
  w = await createPipelineWorld();
  sub = w.nc.subscribe(subjects(w.namespace).schemaChangedAll, {
    callback: (_err, msg) => events.push(schemaChangedEvent.decode(msg.data)),
  });
  campaigns = await seed(w.pool);
  await w.idle();
}, 180_000);

afterAll(async () => {
  sub?.unsubscribe();
  await w?.close();
});

const chRows = async <T>(query: string) =>
  (await w.chs.client.query({ query, format: "JSONEachRow" })).json<T>();
const viewColumns = async (table: TableName) =>
  (
    await chRows<{ name: string }>(
      `SELECT name FROM system.columns WHERE database = currentDatabase() AND table = '${table}_current' ORDER BY position`,
    )
  ).map((r) => r.name);
/** `id -> value` of one column, from PostgreSQL and from ClickHouse's `_current` view. */
const both = async (table: TableName, column: string) => {
  const pg = await w.pool.query<{ id: string; v: string | null }>(
    `SELECT id::text AS id, ${column}::text AS v FROM ${table} ORDER BY id`,
  );
  const ch = await chRows<{ id: string; v: string | null }>(
    `SELECT toString(id) AS id, toString(${column}) AS v FROM ${table}_current ORDER BY id`,
  );
  return { pg: pg.rows, ch };
};
/** The loader's /metrics line of one series (its labels start with `labels`). */
const metricLine = async (name: string, labels: string) =>
  (await w.loaderRegistry.metrics()).split("\n").find((l) => l.startsWith(`${name}{${labels}`)) ?? "";
const truth = () => ({ pool: w.pool, get: w.get, clickhouse: w.chs.client, now: w.now });
const verifier = () => createTestVerifier(w, { config: { chunkIds: 5000, leafIds: 64 } });

test("columns added under write load reach ClickHouse, _current and the verifier, with every row's value", async () => {
  const writer = startWriter(w.pool, campaigns, { seed: 36 });
  let seconds = 0;
  try {
    const started = performance.now();
    await w.pool.query("ALTER TABLE campaign ADD COLUMN status text DEFAULT 'active'");
    await w.pool.query("ALTER TABLE impressions ADD COLUMN device text");
    // Values of the new columns, written beside the writer's rows (which leave device NULL).
    await w.pool.query(
      "INSERT INTO impressions (campaign_id, device) SELECT $1, (ARRAY['mobile','desktop','tv'])[1 + n % 3] FROM generate_series(1, 300) n",
      [campaigns[0]],
    );
    await w.pool.query("UPDATE campaign SET status = 'paused' WHERE id = ANY($1::bigint[])", [
      campaigns.slice(0, 5),
    ]);
    await waitFor(
      async () =>
        (await viewColumns("campaign")).includes("status") &&
        (await viewColumns("impressions")).includes("device"),
      { what: "status and device in ClickHouse's _current views", timeoutMs: 60_000 },
    );
    seconds = (performance.now() - started) / 1000;
  } finally {
    await writer.stop();
  }
  console.log(
    `schema change: both columns in ClickHouse's _current views ${seconds.toFixed(1)} s after the ALTERs`,
  );
  await w.idle();

  // Every row's value, old rows with PostgreSQL's default (status) or NULL (device).
  for (const [table, column] of [
    ["campaign", "status"],
    ["impressions", "device"],
  ] as const) {
    const { pg, ch } = await both(table, column);
    expect(ch.length).toBe(pg.length);
    expect(ch).toEqual(pg);
  }
  const statuses = await chRows<{ status: string; n: string }>(
    "SELECT status, count() AS n FROM campaign_current GROUP BY status ORDER BY status",
  );
  expect(statuses.map((r) => [r.status, Number(r.n)])).toEqual([
    ["active", campaigns.length - 5],
    ["paused", 5],
  ]);
  await compareEverything(truth());
  expect(
    events
      .filter((e) => e.change === "add_column")
      .map((e) => `${e.table}.${e.column} ${e.to}`)
      .sort(),
  ).toEqual(
    expect.arrayContaining(["campaign.status Nullable(String)", "impressions.device Nullable(String)"]),
  );
  expect(
    await metricLine("adpipe_loader_schema_changes_total", 'table="impressions",change="add_column"'),
  ).toMatch(/ [1-9]\d*$/);

  // The new columns are verified: a value changed in ClickHouse alone is found and repaired.
  const v = verifier();
  const clean = await v.verify();
  expect(clean.clean).toBe(true);
  expect(clean.tables.flatMap((t) => t.pendingColumns ?? [])).toEqual([]);
  const [victim] = await chRows<{ id: string }>(
    "SELECT toString(id) AS id FROM impressions_current WHERE device = 'tv' LIMIT 1",
  );
  await w.chs.client.command({
    query: `ALTER TABLE impressions UPDATE device = 'forged' WHERE id = ${Number(victim?.id)}`,
    clickhouse_settings: { mutations_sync: "2" },
  });
  const repaired = await v.verify();
  expect(repaired.tables.find((t) => t.table === "impressions")).toMatchObject({
    driftFound: 1,
    clean: true,
  });
  const { pg, ch } = await both("impressions", "device");
  expect(ch).toEqual(pg);
}, 300_000);

test("a dropped column stays in ClickHouse and stops being filled; a rename is a drop and an add", async () => {
  await w.pool.query("ALTER TABLE impressions DROP COLUMN device");
  await w.pool.query("ALTER TABLE campaign RENAME COLUMN status TO state");
  const { rows } = await w.pool.query<{ id: string }>(
    "INSERT INTO impressions (campaign_id) SELECT $1 FROM generate_series(1, 50) RETURNING id::text AS id",
    [campaigns[1]],
  );
  await w.pool.query("UPDATE campaign SET state = 'archived' WHERE id = $1", [campaigns[2]]);
  await w.idle();
  const fresh = await chRows<{ device: string | null }>(
    `SELECT device FROM impressions_current WHERE id IN (${rows.map((r) => r.id).join(",")})`,
  );
  expect(fresh.map((r) => r.device)).toEqual(rows.map(() => null));
  expect(await viewColumns("impressions")).toContain("device");
  expect(await viewColumns("campaign")).toEqual(expect.arrayContaining(["status", "state"]));
  const [archived] = await chRows<{ state: string }>(
    `SELECT state FROM campaign_current WHERE id = ${campaigns[2]}`,
  );
  expect(archived?.state).toBe("archived");
  // Rows the rename left untouched hold their value under PostgreSQL's new name only; ClickHouse
  // reads the new column's default ('active', carried over by the rename) for them. The four
  // still 'paused' differ: the verifier finds them and re-publishes them.
  const run = await verifier().verify();
  expect(run.tables.find((t) => t.table === "campaign")?.driftFound).toBe(4);
  expect(run.clean).toBe(true);
  const { pg, ch } = await both("campaign", "state");
  expect(ch).toEqual(pg);
  await compareEverything(truth());
}, 300_000);

test("a type change ClickHouse cannot take stops that table only, says why, and flows once ClickHouse can", async () => {
  await w.pool.query("ALTER TABLE clicks ADD COLUMN cost_micros integer DEFAULT 0");
  await w.pool.query(
    "INSERT INTO clicks (campaign_id, cost_micros) SELECT $1, n FROM generate_series(1, 20) n",
    [campaigns[3]],
  );
  await w.idle();
  expect(await viewColumns("clicks")).toContain("cost_micros");

  events.length = 0;
  await w.pool.query("ALTER TABLE clicks ALTER COLUMN cost_micros TYPE text");
  await w.pool.query(
    "INSERT INTO clicks (campaign_id, cost_micros) SELECT $1, 'n/a' FROM generate_series(1, 5)",
    [campaigns[3]],
  );
  const blocked = await waitFor(
    async () => {
      const status = (await w.loader.status()) as { tables: Record<string, { schema_blocked: unknown }> };
      return (status.tables.clicks?.schema_blocked as { message: string } | null) ?? undefined;
    },
    { what: "clicks stopped on the type change", timeoutMs: 60_000 },
  );
  expect(blocked?.message).toContain("clicks.cost_micros is text in PostgreSQL");
  expect(blocked?.message).toContain("Nullable(Int32)");
  expect(blocked?.message).toContain("MODIFY COLUMN cost_micros Nullable(String)");
  expect(() => w.loader.checkConsumers()).toThrow(/clicks stopped on a schema change/);
  await waitFor(async () => events.some((e) => e.table === "clicks" && e.change === "blocked"), {
    what: "the blocked event on <ns>.schema.clicks",
    timeoutMs: 10_000,
  });
  expect(await metricLine("adpipe_loader_schema_blocked", 'table="clicks"')).toMatch(/ 1$/);

  // Other tables flow meanwhile.
  const { rows } = await w.pool.query<{ id: string }>(
    "INSERT INTO impressions (campaign_id) VALUES ($1) RETURNING id::text AS id",
    [campaigns[3]],
  );
  await waitFor(
    async () => (await chRows(`SELECT id FROM impressions_current WHERE id = ${rows[0]?.id}`)).length === 1,
    { what: "an impression loaded while clicks wait", timeoutMs: 30_000 },
  );

  // The operator's fix in ClickHouse; the waiting batches load by themselves.
  await w.chs.client.command({
    query: "ALTER TABLE clicks MODIFY COLUMN cost_micros Nullable(String)",
    clickhouse_settings: { mutations_sync: "2" },
  });
  await w.idle();
  expect(
    ((await w.loader.status()) as { tables: Record<string, { schema_blocked: unknown }> }).tables.clicks
      ?.schema_blocked,
  ).toBeNull();
  await waitFor(async () => events.some((e) => e.table === "clicks" && e.change === "resumed"), {
    what: "the resumed event on <ns>.schema.clicks",
    timeoutMs: 10_000,
  });
  expect(await metricLine("adpipe_loader_schema_blocked", 'table="clicks"')).toMatch(/ 0$/);
  const { pg, ch } = await both("clicks", "cost_micros");
  expect(ch).toEqual(pg);
  await compareEverything(truth());
  expect((await verifier().verify()).clean).toBe(true);
}, 300_000);
