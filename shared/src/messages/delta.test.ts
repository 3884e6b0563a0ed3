import { describe, expect, test } from "bun:test";
import { tableSchema } from "../columns/columns.ts";
import { BARE_DELETE_COLUMNS, DELTA_FORMAT, HEADERS, SCHEMA_VERSION, UPSERT_COLUMNS } from "../contract.ts";
import { type DeltaMeta, decodeDelta, deltaColumns, encodeDeltaHeaders, schemaColumns } from "./delta.ts";

const valid: Record<string, string> = {
  [HEADERS.table]: "clicks",
  [HEADERS.kind]: "upsert",
  [HEADERS.batchId]: "b1",
  [HEADERS.format]: DELTA_FORMAT,
  [HEADERS.columns]: UPSERT_COLUMNS.clicks.join(","),
  [HEADERS.rows]: "1",
  [HEADERS.watermarkFrom]: "10",
  [HEADERS.watermarkTo]: "20",
  [HEADERS.schemaVersion]: String(SCHEMA_VERSION),
};
const headersOf = (values: Record<string, string>) => ({ get: (name: string) => values[name] ?? "" });
const body = new TextEncoder().encode("1\t2\t2026-11-20 10:00:00\t5\t15\n");

describe("delta messages", () => {
  test("round trip: what the extractor encodes, the loader decodes to the same batch", () => {
    for (const kind of ["upsert", "delete", "truncate"] as const) {
      const meta: DeltaMeta = {
        table: "campaign",
        kind,
        batchId: `campaign-${kind}-10-20-0-00ff`,
        columns: deltaColumns("campaign", kind),
        rows: 1,
        watermarkFrom: "10",
        watermarkTo: "18446744073709551615",
      };
      const headers = encodeDeltaHeaders(meta);
      expect(headers.get(HEADERS.msgId)).toBe(meta.batchId);
      const decoded = decodeDelta(headers, body);
      if (!decoded.ok) throw new Error(decoded.reason);
      const { target, body: decodedBody, ...rest } = decoded.delta;
      expect(rest).toEqual({ ...meta, columns: [...meta.columns] });
      expect(target).toBe(kind === "truncate" ? "truncations" : "campaign");
      expect(decodedBody).toBe(body);
    }
  });

  test("Adpipe-Schema round trips: an upsert carries the catalog's columns, a new one included", () => {
    const schema = tableSchema([
      { name: "id", type: "bigint", nullable: false },
      { name: "campaign_id", type: "bigint", nullable: true },
      { name: "created_at", type: "timestamp without time zone", nullable: true, default: "now()" },
      { name: "device", type: "text", nullable: true },
    ]);
    const meta: DeltaMeta = {
      table: "impressions",
      kind: "upsert",
      batchId: "b1",
      columns: schemaColumns(schema),
      rows: 1,
      watermarkFrom: "10",
      watermarkTo: "20",
      schema,
    };
    const decoded = decodeDelta(encodeDeltaHeaders(meta), body);
    if (!decoded.ok) throw new Error(decoded.reason);
    expect(decoded.delta.schema).toEqual(schema);
    expect(decoded.delta.columns).toEqual(["id", "campaign_id", "created_at", "device", "_version", "_xid"]);
  });

  test("an Adpipe-Schema that does not hold together is refused, naming what is wrong", () => {
    const schema = tableSchema([
      { name: "id", type: "bigint", nullable: false },
      { name: "device", type: "text", nullable: true },
    ]);
    const headers = (over: Record<string, string>) =>
      headersOf({
        ...valid,
        [HEADERS.columns]: schemaColumns(schema).join(","),
        [HEADERS.schema]: JSON.stringify(schema),
        ...over,
      });
    const reason = (over: Record<string, string>) => {
      const d = decodeDelta(headers(over), body);
      return d.ok ? "ok" : d.reason;
    };
    expect(reason({})).toBe("ok");
    expect(reason({ [HEADERS.columns]: "id,_version,_xid" })).toMatch(
      /^columns "id,_version,_xid" are not id,device,_version,_xid/,
    );
    expect(reason({ [HEADERS.schema]: "{" })).toBe("bad Adpipe-Schema: not JSON");
    expect(reason({ [HEADERS.schema]: JSON.stringify({ ...schema, fingerprint: "0" }) })).toBe(
      "bad Adpipe-Schema: the fingerprint does not match the columns",
    );
    const named = (name: string) =>
      JSON.stringify(
        tableSchema([
          { name: "id", type: "bigint", nullable: false },
          { name, type: "text", nullable: true },
        ]),
      );
    expect(reason({ [HEADERS.schema]: named("Bad Name") })).toBe(
      'bad Adpipe-Schema: bad column name "Bad Name"',
    );
    expect(reason({ [HEADERS.schema]: named("_version") })).toBe(
      "bad Adpipe-Schema: a tracking column is listed",
    );
    expect(reason({ [HEADERS.kind]: "delete" })).toBe("Adpipe-Schema on a delete");
  });

  test("Adpipe-Committed-By round trips; a batch without it (published before it existed) still decodes", () => {
    const meta: DeltaMeta = {
      table: "clicks",
      kind: "upsert",
      batchId: "b1",
      columns: UPSERT_COLUMNS.clicks,
      rows: 1,
      watermarkFrom: "10",
      watermarkTo: "20",
      committedBy: "2026-12-07T10:00:00.125Z",
    };
    const decoded = decodeDelta(encodeDeltaHeaders(meta), body);
    expect(decoded.ok && decoded.delta.committedBy).toBe("2026-12-07T10:00:00.125Z");
    const old = decodeDelta(headersOf(valid), body);
    expect(old.ok && "committedBy" in old.delta).toBe(false);
  });

  test("an unreadable Adpipe-Committed-By is ignored, never a reason to set the batch aside", () => {
    for (const value of ["soon", "2026-12-07", "2026-12-07T10:00:00", "2026-13-45T99:00:00Z"]) {
      const decoded = decodeDelta(headersOf({ ...valid, [HEADERS.committedBy]: value }), body);
      expect({ value, ok: decoded.ok, committedBy: decoded.ok ? decoded.delta.committedBy : "-" }).toEqual({
        value,
        ok: true,
        committedBy: undefined,
      });
    }
    const offset = decodeDelta(
      headersOf({ ...valid, [HEADERS.committedBy]: "2026-12-07T11:00:00+01:00" }),
      body,
    );
    expect(offset.ok && offset.delta.committedBy).toBe("2026-12-07T10:00:00.000Z");
  });

  test("accepts a batch that follows the contract", () => {
    expect(decodeDelta(headersOf(valid), body)).toMatchObject({
      ok: true,
      delta: { table: "clicks", target: "clicks", rows: 1, watermarkTo: "20" },
    });
  });

  test("a fact's tombstones carry its campaign and time; the bare tombstone columns stay valid", () => {
    const del = (table: string, columns: readonly string[]) =>
      decodeDelta(
        headersOf({
          ...valid,
          [HEADERS.table]: table,
          [HEADERS.kind]: "delete",
          [HEADERS.columns]: columns.join(","),
        }),
        body,
      );
    expect(deltaColumns("clicks", "delete")).toEqual([
      "id",
      "campaign_id",
      "created_at",
      "_version",
      "_xid",
      "_deleted",
    ]);
    expect(deltaColumns("campaign", "delete")).toEqual([...BARE_DELETE_COLUMNS]);
    for (const table of ["impressions", "clicks"]) {
      expect(del(table, deltaColumns("clicks", "delete"))).toMatchObject({
        ok: true,
        delta: { kind: "delete" },
      });
      expect(del(table, BARE_DELETE_COLUMNS)).toMatchObject({
        ok: true,
        delta: { columns: [...BARE_DELETE_COLUMNS] },
      });
    }
    expect(del("campaign", BARE_DELETE_COLUMNS).ok).toBe(true);
    // An entity's tombstone has no campaign and time to carry.
    expect(del("campaign", deltaColumns("clicks", "delete"))).toEqual({
      ok: false,
      reason: 'columns "id,campaign_id,created_at,_version,_xid,_deleted" are not id,_version,_xid,_deleted',
    });
    expect(del("clicks", ["id", "campaign_id", "_version", "_xid", "_deleted"])).toEqual({
      ok: false,
      reason:
        'columns "id,campaign_id,_version,_xid,_deleted" are not id,campaign_id,created_at,_version,_xid,_deleted or id,_version,_xid,_deleted',
    });
  });

  test("names what is wrong with an invalid one", () => {
    const bad = (patch: Record<string, string>) => decodeDelta(headersOf({ ...valid, ...patch }), body);
    expect(bad({ [HEADERS.table]: "orders" })).toEqual({ ok: false, reason: 'unknown table "orders"' });
    expect(bad({ [HEADERS.kind]: "merge" })).toEqual({ ok: false, reason: 'unknown kind "merge"' });
    expect(bad({ [HEADERS.format]: "CSV" })).toEqual({ ok: false, reason: 'unsupported format "CSV"' });
    expect(bad({ [HEADERS.schemaVersion]: "9" }).ok).toBe(false);
    expect(bad({ [HEADERS.columns]: "id" }).ok).toBe(false);
    expect(bad({ [HEADERS.watermarkTo]: "x" }).ok).toBe(false);
    expect(bad({ [HEADERS.rows]: "-1" }).ok).toBe(false);
    expect(bad({ [HEADERS.batchId]: "" })).toEqual({ ok: false, reason: `missing ${HEADERS.batchId}` });
    expect(decodeDelta(undefined, body)).toEqual({ ok: false, reason: "no headers" });
    expect(decodeDelta(headersOf(valid), new TextEncoder().encode("1\t2")).ok).toBe(false);
  });
});
