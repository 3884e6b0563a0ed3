// Freshness per table, from the time a change committed in PostgreSQL: the extractor stamps each
// delta with Adpipe-Committed-By (its snapshot's time, after the commit), the loader measures it
// to the rows in ClickHouse, the reporter to the rebuild that reflects them (docs/events.md).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createOperations } from "@adpipe/generator";
import { HEADERS, streams, subjects } from "@adpipe/shared/contract";
import { createPipelineWorld, type PipelineWorld } from "@adpipe/testing";

let w: PipelineWorld;

beforeAll(async () => {
  w = await createPipelineWorld();
}, 120_000);

afterAll(async () => {
  await w?.close();
});

/** The `_count` of a histogram's series for one table, from a Prometheus text page. */
const observations = (page: string, name: string, table: string) =>
  Number(new RegExp(`^${name}_count\\{[^}]*table="${table}"[^}]*\\} (\\d+)$`, "m").exec(page)?.[1] ?? 0);

test("a commit's freshness is measured from after the commit, to ClickHouse and to the reports", async () => {
  const ops = createOperations(w.pool);
  const beforeCommit = new Date().toISOString();
  await ops.batch({ advertisers: 1, campaigns: 2, impressions: 300, ctr: 0.1 });
  await w.idle();

  // The delta carries the snapshot's time, which is after the commit it contains.
  const last = await w.jsm.streams.getMessage(streams(w.namespace).delta, {
    last_by_subj: subjects(w.namespace).delta("impressions"),
  });
  const committedBy = last.header.get(HEADERS.committedBy);
  expect(committedBy >= beforeCommit).toBe(true);

  // The loader: the newest batch's freshness per table in /status, and one observation per batch.
  const status = await w.loader.status();
  const loaded = status.tables.impressions?.freshness;
  expect(loaded?.committedBy).toBe(committedBy);
  expect(loaded && loaded.seconds >= 0 && loaded.at >= committedBy).toBe(true);
  const loaderPage = await w.loaderRegistry.metrics();
  for (const table of ["advertiser", "campaign", "impressions", "clicks"])
    expect({ table, n: observations(loaderPage, "adpipe_loader_freshness_seconds", table) > 0 }).toEqual({
      table,
      n: true,
    });

  // The reporter: the same per table in /reports/status, observed once the reports reflect it.
  const reports = (await w.get("/reports/status")) as {
    freshness: Record<string, { committed_by: string; seconds: number; at: string }>;
  };
  // An event's time is its oldest batch's: between the commit and the newest delta's.
  const reported = reports.freshness.impressions?.committed_by ?? "";
  expect(reported >= beforeCommit && reported <= committedBy).toBe(true);
  expect((reports.freshness.impressions?.at ?? "") >= (loaded?.at ?? "~")).toBe(true);
  const page = await (await w.app.request("/metrics")).text();
  expect(observations(page, "adpipe_reporter_freshness_seconds", "impressions")).toBeGreaterThan(0);
}, 120_000);
