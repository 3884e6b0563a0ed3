import { describe, expect, test } from "bun:test";
import { DELTA_FORMAT, HEADERS, SCHEMA_VERSION, UPSERT_COLUMNS } from "@adpipe/shared/contract";
import { mergeWindows, parseDelta } from "./delta-message.ts";

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

describe("parseDelta", () => {
  test("accepts a batch that follows the contract", () => {
    const parsed = parseDelta(headersOf(valid), body);
    expect(parsed).toMatchObject({
      ok: true,
      delta: { table: "clicks", target: "clicks", rows: 1, watermarkTo: "20" },
    });
  });

  test("names what is wrong with an invalid one", () => {
    const bad = (patch: Record<string, string>) => parseDelta(headersOf({ ...valid, ...patch }), body);
    expect(bad({ [HEADERS.table]: "orders" })).toEqual({ ok: false, reason: 'unknown table "orders"' });
    expect(bad({ [HEADERS.kind]: "merge" })).toEqual({ ok: false, reason: 'unknown kind "merge"' });
    expect(bad({ [HEADERS.format]: "CSV" })).toEqual({ ok: false, reason: 'unsupported format "CSV"' });
    expect(bad({ [HEADERS.schemaVersion]: "9" }).ok).toBe(false);
    expect(bad({ [HEADERS.columns]: "id" }).ok).toBe(false);
    expect(bad({ [HEADERS.watermarkTo]: "x" }).ok).toBe(false);
    expect(parseDelta(undefined, body)).toEqual({ ok: false, reason: "no headers" });
    expect(parseDelta(headersOf(valid), new TextEncoder().encode("1\t2")).ok).toBe(false);
  });
});

test("mergeWindows joins overlapping and adjacent windows", () => {
  expect(
    mergeWindows([
      { from: "30", to: "40" },
      { from: "10", to: "20" },
      { from: "20", to: "25" },
      { from: "35", to: "50" },
    ]),
  ).toEqual([
    { from: "10", to: "25" },
    { from: "30", to: "50" },
  ]);
});
