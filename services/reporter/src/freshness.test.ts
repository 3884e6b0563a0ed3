import { expect, test } from "bun:test";
import type { LoadedEvent } from "@adpipe/shared/messages/loaded";
import { createFreshness } from "./freshness.ts";

const event = (table: LoadedEvent["table"], committedBy?: string): LoadedEvent => ({
  table,
  batchIds: ["b"],
  kinds: ["upsert"],
  rows: 1,
  watermark: "10",
  windows: [{ from: "1", to: "10" }],
  loadedAt: "2026-12-07T00:00:00.000Z",
  ...(committedBy ? { committedBy } : {}),
});

test("each table keeps its newest reported commit; older ones and events without one leave it", () => {
  const f = createFreshness();
  f.note([event("clicks", "2026-12-07T00:00:02.000Z"), event("impressions")]);
  f.note([event("clicks", "2026-12-07T00:00:01.000Z")]);
  expect(Object.keys(f.byTable)).toEqual(["clicks"]);
  expect(f.byTable.clicks?.committed_by).toBe("2026-12-07T00:00:02.000Z");
  f.note([event("clicks", "2026-12-07T00:00:03.000Z")]);
  expect(f.byTable.clicks?.committed_by).toBe("2026-12-07T00:00:03.000Z");
  expect(f.byTable.clicks?.seconds).toBeGreaterThan(0);
});
