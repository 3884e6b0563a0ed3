import { expect, test } from "bun:test";
import { toCsv } from "./csv.ts";

test("quotes cells with commas, quotes or line breaks; nulls are empty", () => {
  expect(toCsv([{ a: 1, b: 'say "hi", then go', c: null }])).toBe('a,b,c\r\n1,"say ""hi"", then go",\r\n');
  expect(toCsv([])).toBe("\r\n");
});
