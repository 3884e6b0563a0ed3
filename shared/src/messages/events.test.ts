import { describe, expect, test } from "bun:test";
import { type LoadedEvent, loadedEvent } from "./loaded.ts";
import { type ReportsUpdatedEvent, reportsUpdatedEvent } from "./reports-updated.ts";
import { reportsRebuildRequest, type VerifyCompletedEvent, verifyCompletedEvent } from "./verify.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("LoadedEvent (<ns>.loaded.<table>)", () => {
  const event: LoadedEvent = {
    table: "impressions",
    batchIds: ["impressions-upsert-10-20-0-00ff"],
    kinds: ["upsert", "delete"],
    rows: 3,
    watermark: "18446744073709551615",
    windows: [{ from: "10", to: "20" }],
    loadedAt: "2026-11-28T10:00:00.000Z",
  };

  test("round trip: the loader's encoding decodes to the same event (xid8 beyond 2^53 intact)", () => {
    expect(loadedEvent.decode(bytes(loadedEvent.encode(event)))).toEqual(event);
  });

  test("a payload that is not one is refused, naming the field", () => {
    expect(() => loadedEvent.decode("{}")).toThrow("table");
    expect(() => loadedEvent.decode(JSON.stringify({ ...event, watermark: "x" }))).toThrow("watermark");
    expect(() => loadedEvent.decode(JSON.stringify({ ...event, windows: [{ from: 1, to: 2 }] }))).toThrow(
      "windows.0.from",
    );
    expect(() => loadedEvent.decode(JSON.stringify({ ...event, kinds: ["merge"] }))).toThrow("kinds.0");
    expect(() => loadedEvent.decode("not json")).toThrow("invalid JSON");
  });

  test("the producer cannot send what a consumer would refuse", () => {
    expect(() => loadedEvent.encode({ ...event, rows: -1 })).toThrow();
  });

  test("committedBy travels when the batches had it; an event without it (older loaders) decodes", () => {
    const withTime = { ...event, committedBy: "2026-11-28T09:59:59.250Z" };
    expect(loadedEvent.decode(bytes(loadedEvent.encode(withTime)))).toEqual(withTime);
    expect(loadedEvent.decode(JSON.stringify(event))).toEqual(event);
    expect(() => loadedEvent.decode(JSON.stringify({ ...event, committedBy: "yesterday" }))).toThrow(
      "committedBy",
    );
  });
});

describe("ReportsUpdatedEvent (<ns>.reports.updated)", () => {
  test("round trip", () => {
    const event: ReportsUpdatedEvent = {
      reports: ["advertiser_campaigns_totals_report"],
      watermark: { impressions: "42", clicks: "41" },
      updatedAt: "2026-11-28T10:00:00.000Z",
      durationMs: 12.5,
      full: false,
    };
    expect(reportsUpdatedEvent.decode(reportsUpdatedEvent.encode(event))).toEqual(event);
    expect(() =>
      reportsUpdatedEvent.decode(JSON.stringify({ ...event, watermark: { orders: "1" } })),
    ).toThrow("watermark");
  });
});

describe("the verifier's messages", () => {
  test("VerifyCompletedEvent (<ns>.verify.completed) round trip", () => {
    const event: VerifyCompletedEvent = {
      startedAt: "2026-11-28T10:00:00.000Z",
      finishedAt: "2026-11-28T10:00:01.000Z",
      durationMs: 1000,
      clean: false,
      tables: [
        {
          table: "clicks",
          verifiedAt: null,
          rangesChecked: 4,
          rowsChecked: 1000,
          driftFound: 1,
          rowsRepaired: 1,
          clean: true,
          sampleIds: [7],
        },
      ],
      reports: {
        verifiedAt: "2026-11-28T10:00:01.000Z",
        keysChecked: 10,
        driftFound: 0,
        campaignsRebuilt: 0,
        clean: true,
      },
    };
    expect(verifyCompletedEvent.decode(verifyCompletedEvent.encode(event))).toEqual(event);
  });

  test("ReportsRebuildRequest (<ns>.reports.rebuild): round trip, days default to none, bad ids refused", () => {
    const request = { campaigns: [1, 2], days: [{ campaign_id: 3, day: "2026-11-27" }] };
    expect(reportsRebuildRequest.decode(reportsRebuildRequest.encode(request))).toEqual(request);
    expect(reportsRebuildRequest.decode('{"campaigns":[5]}')).toEqual({ campaigns: [5], days: [] });
    expect(() => reportsRebuildRequest.decode('{"campaigns":[0]}')).toThrow("campaigns.0");
    expect(() =>
      reportsRebuildRequest.decode('{"campaigns":[1],"days":[{"campaign_id":1,"day":"x"}]}'),
    ).toThrow("days.0.day");
  });
});
