import { expect, test } from "bun:test";
import { bindKeySets, DEFAULT_MAX_QUERY_SIZE } from "./key-sets.ts";

test("key sets become typed literals in the text; other parameters stay parameters", () => {
  const bound = bindKeySets(
    "SELECT 1 WHERE c IN {campaigns:Array(Int32)} AND d IN {dates:Array(Date32)} AND x IN {xids:Array(UInt64)} AND v = {version:UInt64} AND {campaigns:Array(Int32)} != []",
    { campaigns: [1, -2], dates: ["2026-11-28"], xids: [5n, "18446744073709551615", 7], version: "9" },
  );
  expect(bound.query).toBe(
    "SELECT 1 WHERE c IN CAST([1,-2], 'Array(Int32)') AND d IN CAST(['2026-11-28'], 'Array(Date32)') AND x IN CAST([5,18446744073709551615,7], 'Array(UInt64)') AND v = {version:UInt64} AND CAST([1,-2], 'Array(Int32)') != []",
  );
  expect(bound.query_params).toEqual({ version: "9" });
  expect(bound.clickhouse_settings).toEqual({});
  expect(bindKeySets("SELECT {a:Array(Int32)}", { a: [] }).query).toBe("SELECT CAST([], 'Array(Int32)')");
});

test("a value that is not of its type never reaches the text", () => {
  expect(() => bindKeySets("SELECT {a:Array(Int32)}", { a: ["1) OR (1"] })).toThrow("is not a Int32");
  expect(() => bindKeySets("SELECT {a:Array(Int32)}", { a: [2 ** 31] })).toThrow("is not a Int32");
  expect(() => bindKeySets("SELECT {a:Array(Int32)}", { a: [1.5] })).toThrow("is not a Int32");
  expect(() => bindKeySets("SELECT {a:Array(UInt64)}", { a: [-1n] })).toThrow("is not a UInt64");
  expect(() => bindKeySets("SELECT {a:Array(UInt64)}", { a: ["18446744073709551616"] })).toThrow(
    "is not a UInt64",
  );
  expect(() => bindKeySets("SELECT {a:Array(Date32)}", { a: ["2026-11-28') --"] })).toThrow(
    "is not a Date32",
  );
  expect(() => bindKeySets("SELECT {a:Array(Int32)}", {})).toThrow("expected an array");
});

test("a statement larger than the server's default max_query_size raises it", () => {
  const many = Array.from({ length: 50_000 }, (_, i) => i);
  const bound = bindKeySets("SELECT {a:Array(Int32)}", { a: many });
  expect(Buffer.byteLength(bound.query)).toBeGreaterThan(DEFAULT_MAX_QUERY_SIZE);
  expect(Number(bound.clickhouse_settings.max_query_size)).toBeGreaterThan(Buffer.byteLength(bound.query));
});

test("64-bit ids: exact numbers, bigints and decimal text up to Int64's ends; an inexact number is refused", () => {
  const bound = bindKeySets("SELECT {ids:Array(Int64)}", {
    ids: [3_000_000_000, 2 ** 53 - 1, 5_000_000_000n, "9223372036854775807", "-9223372036854775808"],
  });
  expect(bound.query).toBe(
    "SELECT CAST([3000000000,9007199254740991,5000000000,9223372036854775807,-9223372036854775808], 'Array(Int64)')",
  );
  // 2^53 is a float that may stand for another integer: refused rather than rounded.
  expect(() => bindKeySets("SELECT {a:Array(Int64)}", { a: [2 ** 53] })).toThrow("is not a Int64");
  expect(() => bindKeySets("SELECT {a:Array(Int64)}", { a: ["9223372036854775808"] })).toThrow(
    "is not a Int64",
  );
  expect(() => bindKeySets("SELECT {a:Array(Int64)}", { a: ["1) OR (1"] })).toThrow("is not a Int64");
  expect(() => bindKeySets("SELECT {a:Array(UInt64)}", { a: ["-1"] })).toThrow("is not a UInt64");
});
