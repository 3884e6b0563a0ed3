import { expect, test } from "bun:test";
import { createStatusGate } from "./status-gate.ts";

test("a status line is printed when its figures change, or after 30 s without one", () => {
  let t = 0;
  const gate = createStatusGate(30_000, () => t);
  const line = (rows: number, lag: number) =>
    `postgres → clickhouse: clicks ${rows} → ${rows} | extractor ${lag} s behind`;
  expect(gate.shouldPrint(line(10, 0.2))).toBe(true);
  // Every 5 s, nothing new: silent, though the lag moves.
  for (t = 5_000; t < 30_000; t += 5_000) expect(gate.shouldPrint(line(10, t / 10_000))).toBe(false);
  // 30 s without a line: once, to say it is alive.
  t = 30_000;
  expect(gate.shouldPrint(line(10, 0.3))).toBe(true);
  t = 35_000;
  expect(gate.shouldPrint(line(10, 0.3))).toBe(false);
  // New rows: at once.
  t = 36_000;
  expect(gate.shouldPrint(line(11, 0.3))).toBe(true);
  t = 37_000;
  expect(gate.shouldPrint(line(11, 0.3))).toBe(false);
});
