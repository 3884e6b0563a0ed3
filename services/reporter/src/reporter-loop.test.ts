import { expect, test } from "bun:test";
import { consumerProblem } from "./reporter-loop.ts";

const at = Date.parse("2026-12-07T10:00:00.000Z");

test("a healthy or not yet started consumer is no problem for /ready", () => {
  expect(consumerProblem(undefined, "reporter", 10_000, at)).toBeNull();
  expect(consumerProblem({ recoveries: 0 }, "reporter", 10_000, at)).toBeNull();
});

test("a stalled consumer is a problem at once, named with the time it stalled", () => {
  expect(consumerProblem({ recoveries: 1, stalledSince: at - 1 }, "reporter", 10_000, at)).toBe(
    "reporter consumer stalled since 2026-12-07T09:59:59.999Z",
  );
});

test("failing pulls are a problem only once they have failed for the stall time", () => {
  const failing = (ms: number) => ({ recoveries: 0, failingSince: at - ms, lastError: "no responders" });
  expect(consumerProblem(failing(9_999), "reporter", 10_000, at)).toBeNull();
  expect(consumerProblem(failing(10_000), "reporter", 10_000, at)).toBe(
    "reporter cannot pull since 2026-12-07T09:59:50.000Z: no responders",
  );
});
