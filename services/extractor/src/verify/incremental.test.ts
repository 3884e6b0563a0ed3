import { describe, expect, test } from "bun:test";
import { planIncremental } from "./incremental.ts";

describe("planIncremental", () => {
  test("a run of nearby changed ids is one range, cut at the chunk width", () => {
    const inserted = Array.from({ length: 250 }, (_, i) => 1001 + i); // 1001..1250
    expect(planIncremental(inserted, 100)).toEqual({
      spans: [
        [1001, 1101],
        [1101, 1201],
        [1201, 1251],
      ],
      singles: [],
    });
  });

  test("scattered ids are compared one by one, never through the chunks around them", () => {
    const scattered = Array.from({ length: 500 }, (_, i) => i * 20_000 + 7);
    const plan = planIncremental(scattered, 100_000);
    expect(plan.spans).toEqual([]);
    expect(plan.singles).toEqual(scattered);
  });

  test("both at once; duplicates and order do not matter; nothing changed is nothing to compare", () => {
    const run = Array.from({ length: 64 }, (_, i) => 500 + i * 16); // gaps of 16: still one run
    const plan = planIncremental([9_999_999, ...run, 3, 3, ...run], 100_000);
    expect(plan.spans).toEqual([[500, 500 + 63 * 16 + 1]]);
    expect(plan.singles).toEqual([3, 9_999_999]);
    // One id fewer, or one gap wider, and the ids are compared one by one.
    expect(planIncremental(run.slice(1), 100_000).spans).toEqual([]);
    expect(planIncremental([...run.slice(0, 32), ...run.slice(32).map((x) => x + 1)], 100_000).spans).toEqual(
      [],
    );
    expect(planIncremental([], 100)).toEqual({ spans: [], singles: [] });
  });
});
