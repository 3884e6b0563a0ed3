import { describe, expect, test } from "bun:test";
import { ValidationError } from "../http/errors.ts";
import { replayReply, replayRequest, replyError, reportsRebuildReply } from "./replies.ts";

describe("<ns>.deadletters.replay", () => {
  test("request round trip; an id that is no dead letter's is refused, naming the field", () => {
    expect(replayRequest.decode(replayRequest.encode({ id: 42 }))).toEqual({ id: 42 });
    for (const bad of ['{"id":0}', '{"id":"42"}', '{"id":1.5}', "{}", "not json"])
      expect(() => replayRequest.decode(bad)).toThrow(ValidationError);
    expect(() => replayRequest.decode('{"id":0}')).toThrow(/^id: /);
  });

  test("reply: the result or an error, nothing else", () => {
    const ok = { replayed: { id: 3, subject: "ns.delta.clicks", sequence: 17 } };
    expect(replayReply.decode(replayReply.encode(ok))).toEqual(ok);
    const failed = { error: { code: "not_found", message: "dead letter 3 not found" } };
    expect(replyError(replayReply.decode(JSON.stringify(failed)))).toEqual(failed.error);
    expect(replyError(ok)).toBeUndefined();
    expect(() => replayReply.decode('{"replayed":{"id":3}}')).toThrow(ValidationError);
    expect(() => replayReply.encode({ replayed: { id: 0, subject: "", sequence: 1 } } as never)).toThrow();
  });
});

describe("<ns>.reports.rebuild reply", () => {
  test("round trip of a result and of an error; a reply without a version is refused", () => {
    const ok = { version: "1733580000123456", campaigns: 2, reports: ["advertiser_campaigns_totals_report"] };
    expect(reportsRebuildReply.decode(reportsRebuildReply.encode(ok))).toEqual(ok);
    const failed = { error: { code: "rebuild_failed", message: "ClickHouse error 60" } };
    expect(replyError(reportsRebuildReply.decode(JSON.stringify(failed)))).toEqual(failed.error);
    expect(() => reportsRebuildReply.decode('{"campaigns":2,"reports":[]}')).toThrow(ValidationError);
  });
});
