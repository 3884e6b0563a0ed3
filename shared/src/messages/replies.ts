import { z } from "zod";
import { jsonCodec } from "./codec.ts";

// The request/reply contracts that are not events: what is sent on `<ns>.deadletters.replay` and
// answered there, and what the reporter answers on `<ns>.reports.rebuild` (its request is in
// verify.ts). Every reply is either the result or `{"error": {"code", "message"}}`, the same
// error body the HTTP routes answer with.

/** A failed request's answer: a code from shared/src/http/errors.ts and a message for people. */
export const errorReplySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type ErrorReply = z.infer<typeof errorReplySchema>;

/** Request on `<ns>.deadletters.replay`: the dead letter's sequence in the `<ns>_dlq` stream. */
export const replayRequestSchema = z.object({ id: z.number().int().min(1) });
export type ReplayRequest = z.infer<typeof replayRequestSchema>;
export const replayRequest = jsonCodec(replayRequestSchema);

/** What a replay did: the dead letter, and the delta subject and sequence it was published at. */
export const replayedSchema = z.object({
  id: z.number().int().min(1),
  subject: z.string().min(1),
  sequence: z.number().int().min(1),
});
/** Reply on `<ns>.deadletters.replay` (and body of the loader's `POST /dead-letters/:id/replay`). */
export const replayReplySchema = z.union([z.object({ replayed: replayedSchema }), errorReplySchema]);
export type ReplayReply = z.infer<typeof replayReplySchema>;
export const replayReply = jsonCodec(replayReplySchema);

/** Reply on `<ns>.reports.rebuild`: the version written, the campaigns and the reports rebuilt. */
export const reportsRebuildReplySchema = z.union([
  z.object({
    version: z.string().regex(/^\d+$/),
    campaigns: z.number().int().min(0),
    reports: z.array(z.string()),
  }),
  errorReplySchema,
]);
export type ReportsRebuildReply = z.infer<typeof reportsRebuildReplySchema>;
export const reportsRebuildReply = jsonCodec(reportsRebuildReplySchema);

/** The error of a reply, if it is one. */
export const replyError = (reply: object): ErrorReply["error"] | undefined =>
  "error" in reply ? (reply as ErrorReply).error : undefined;
