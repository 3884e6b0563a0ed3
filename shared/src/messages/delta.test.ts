import { describe, expect, test } from "bun:test";
import { DELTA_FORMAT, HEADERS, SCHEMA_VERSION, UPSERT_COLUMNS } from "../contract.ts";
import { type DeltaMeta, decodeDelta, deltaColumns, encodeDeltaHeaders } from "./delta.ts";

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

  test("accepts a batch that follows the contract", () => {
    expect(decodeDelta(headersOf(valid), body)).toMatchObject({
      ok: true,
      delta: { table: "clicks", target: "clicks", rows: 1, watermarkTo: "20" },
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
