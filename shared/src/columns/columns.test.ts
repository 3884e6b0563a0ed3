import { describe, expect, test } from "bun:test";
import { type Column, copyColumn, fingerprint, olapDefault, olapType } from "./columns.ts";
import { compatibility, widenedType } from "./olap-compat.ts";

const col = (type: string, extra: Partial<Column> = {}): Column => ({
  name: "c",
  type,
  nullable: true,
  ...extra,
});

describe("PostgreSQL columns in ClickHouse (columns.ts)", () => {
  test("each PostgreSQL type maps to the ClickHouse type that holds it exactly", () => {
    const cases: [string, string][] = [
      ["smallint", "Int16"],
      ["integer", "Int32"],
      ["bigint", "Int64"],
      ["numeric(10,2)", "Decimal(10, 2)"],
      ["numeric", "String"],
      ["real", "Float32"],
      ["double precision", "Float64"],
      ["boolean", "Bool"],
      ["date", "Date32"],
      ["timestamp without time zone", "DateTime64(6, 'UTC')"],
      ["timestamp(3) with time zone", "DateTime64(6, 'UTC')"],
      ["uuid", "UUID"],
      ["character varying(255)", "String"],
      ["jsonb", "String"],
      ["text[]", "String"],
    ];
    expect(cases.map(([pg]) => [pg, olapType(col(pg, { nullable: false }))])).toEqual(cases);
    expect(olapType(col("text"))).toBe("Nullable(String)");
  });

  test("constant defaults translate; expressions do not", () => {
    expect(olapDefault(col("text", { default: "'active'::text" }))).toBe("'active'");
    expect(olapDefault(col("text", { default: "'it''s \\\\ here'::character varying" }))).toBe(
      "'it\\'s \\\\\\\\ here'",
    );
    expect(olapDefault(col("integer", { default: "0" }))).toBe("0");
    expect(olapDefault(col("numeric(10,2)", { default: "1.50" }))).toBe("1.50");
    expect(olapDefault(col("integer", { default: "'-5'::integer" }))).toBe("'-5'");
    expect(olapDefault(col("boolean", { default: "true" }))).toBe("true");
    expect(olapDefault(col("timestamp without time zone", { default: "now()" }))).toBeUndefined();
    expect(olapDefault(col("bigint", { default: "nextval('s'::regclass)" }))).toBeUndefined();
    expect(olapDefault(col("text"))).toBeUndefined();
  });

  test("times are read in UTC and inside ClickHouse's range; other columns as they are", () => {
    expect(copyColumn({ name: "d", type: "integer", nullable: true })).toBe("d");
    expect(copyColumn({ name: "t", type: "timestamp with time zone", nullable: true })).toContain(
      "(t AT TIME ZONE 'UTC')",
    );
    expect(copyColumn({ name: "t", type: "date", nullable: true }, "x.")).toMatch(
      /^CASE WHEN x\.t < date .* AS t$/,
    );
  });

  test("the fingerprint changes with any name, type, nullability or default", () => {
    const base = [col("text"), { name: "id", type: "bigint", nullable: false }];
    const print = fingerprint(base);
    expect(fingerprint([...base])).toBe(print);
    for (const changed of [
      [col("integer"), base[1] as Column],
      [col("text", { nullable: false }), base[1] as Column],
      [col("text", { default: "'x'::text" }), base[1] as Column],
      [col("text", { name: "d" }), base[1] as Column],
    ])
      expect(fingerprint(changed)).not.toBe(print);
  });
});

describe("type changes (olap-compat.ts)", () => {
  test("same, holds, widen and unsafe", () => {
    expect(compatibility("Nullable(String)", "Nullable(String)", "c")).toBe("same");
    expect(compatibility("Int64", "Int32", "c")).toBe("holds");
    expect(compatibility("Nullable(Int32)", "Int32", "c")).toBe("holds");
    expect(compatibility("String", "Int64", "c")).toBe("holds");
    expect(compatibility("Nullable(Int32)", "Nullable(Int64)", "c")).toBe("widen");
    expect(compatibility("Decimal(10, 2)", "Decimal(12, 2)", "c")).toBe("widen");
    expect(compatibility("Float32", "Float64", "c")).toBe("widen");
    expect(compatibility("String", "Nullable(String)", "c")).toBe("widen");
    expect(compatibility("Int32", "Int64", "id")).toBe("unsafe");
    expect(compatibility("Nullable(Int32)", "Nullable(String)", "c")).toBe("unsafe");
    expect(compatibility("Decimal(10, 2)", "Decimal(10, 3)", "c")).toBe("unsafe");
    expect(compatibility("String", "Bool", "c")).toBe("unsafe");
    expect(compatibility("Date32", "DateTime64(6, 'UTC')", "c")).toBe("unsafe");
  });

  test("a widened column takes the wider base and keeps NULLs", () => {
    expect(widenedType("Nullable(Int32)", "Int64")).toBe("Nullable(Int64)");
    expect(widenedType("String", "Nullable(String)")).toBe("Nullable(String)");
    expect(widenedType("Decimal(10, 2)", "Decimal(12, 2)")).toBe("Decimal(12, 2)");
  });
});
