import { afterAll, beforeAll, expect, test } from "bun:test";
import { streams } from "@adpipe/shared/contract";
import { createLogger } from "@adpipe/shared/logger";
import { waitFor } from "@adpipe/shared/testing";
import { addFacts, createReporterWorld, type ReporterWorld, seedCampaigns } from "@adpipe/testing";

let w: ReporterWorld;
const logs: { msg: string; consumer?: string }[] = [];
/** While set, the reporter's pulls ask for fewer bytes than one loaded event: JetStream answers 409. */
let starve = true;

beforeAll(async () => {
  w = await createReporterWorld({
    config: { ADPIPE_CONSUMER_STALL_MS: 1000 },
    logger: createLogger("reporter", "info", {}, (line) => logs.push(JSON.parse(line))),
    wrapPull: (pull) => (request) => pull(starve ? { ...request, maxBytes: 50 } : request),
  });
});

afterAll(async () => {
  await w?.close();
});

test("a reporter whose pulls receive nothing while loaded events wait: /ready names its consumer, the watchdog recovers it", async () => {
  const consumer = streams(w.namespace).reporterConsumer;
  await seedCampaigns(w, 2);
  await addFacts(w, "impressions", 1, 7);

  const ready = await waitFor(
    async () => {
      const res = await w.app.request("/ready");
      return res.status === 503 && ((await res.json()) as { error: { message: string } });
    },
    { timeoutMs: 15_000, what: "/ready failing" },
  );
  expect(ready.error.message).toContain(`consumer: ${consumer} consumer stalled since`);
  expect(await w.get("/kpis/campaigns")).toEqual([]);

  starve = false;
  await waitFor(
    async () => ((await w.get("/kpis/campaigns")) as { impressions: number }[])[0]?.impressions === 7,
    { timeoutMs: 15_000, what: "the reports after the recovery" },
  );
  await waitFor(async () => (await w.app.request("/ready")).status === 200, { what: "/ready again" });
  expect(logs.some((l) => l.msg.startsWith("consumer stalled") && l.consumer === consumer)).toBe(true);
  expect(logs.some((l) => l.msg === "consumer receiving again" && l.consumer === consumer)).toBe(true);
});
