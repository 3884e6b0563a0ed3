import { expect, test } from "bun:test";
import { mergeWindows } from "./loaded.ts";

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
