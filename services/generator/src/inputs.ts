import { MAX_ID } from "@adpipe/shared/contract";
import { z } from "zod";

// One set of validators for the CLI flags and the HTTP bodies, so both reject the same input with
// the same words. Field names are the HTTP names; the CLI spells them as --kebab-case flags.

// Numbers are JSON numbers only (`true`, `[1]`, `"0x2"`, `" 2 "`, 1e999 are refused, never coerced);
// the CLI turns its decimal flag text into numbers before these see it.
const whole = (min: number, max: number) =>
  z
    .number({ message: "expected a number" })
    .int("expected a whole number")
    .min(min, `must be at least ${min.toLocaleString("en")}`)
    .max(max, `must be at most ${max.toLocaleString("en")}`);

const ratio = z
  .number({ message: "expected a number" })
  .min(0, "must be between 0 and 1")
  .max(1, "must be between 0 and 1");

// Ids are 64-bit; a JSON number is exact up to 2^53 - 1 (shared/src/contract.ts, MAX_ID).
const id = whole(1, MAX_ID);

/** Largest number of impressions one request may write (about 45 s of PostgreSQL time here). */
export const MAX_IMPRESSIONS = 50_000_000;

export const advertisersInput = z.object({ count: whole(1, 10_000).default(1) });
export const campaignsInput = z.object({ advertiser_id: id, count: whole(1, 10_000).default(1) });
export const impressionsInput = z.object({ campaign_id: id, count: whole(1, MAX_IMPRESSIONS).default(100) });
export const clicksInput = z.object({ campaign_id: id, ratio: ratio.default(0.1) });
export const batchInput = z
  .object({
    advertisers: whole(1, 10_000).default(2),
    campaigns: whole(1, 10_000).default(3),
    impressions: whole(0, MAX_IMPRESSIONS).default(100),
    ctr: ratio.default(0.1),
  })
  .refine((b) => b.advertisers * b.campaigns * b.impressions <= MAX_IMPRESSIONS, {
    path: ["impressions"],
    message: `advertisers × campaigns × impressions must be at most ${MAX_IMPRESSIONS.toLocaleString("en")}`,
  })
  .refine((b) => b.advertisers * b.campaigns <= 100_000, {
    path: ["campaigns"],
    message: "advertisers × campaigns must be at most 100,000",
  });
export const resetInput = z.object({
  confirm: z.literal("yes", { message: 'must be "yes" to delete all data' }),
});
export const simulateStartInput = z.object({
  interval_seconds: z
    .number({ message: "expected a number" })
    .min(1, "must be at least 1")
    .max(86_400, "must be at most 86,400")
    .optional(),
});

export const simulateSeedInput = z.object({
  advertisers: whole(1, 100).default(3),
  campaigns: whole(1, 100).default(4),
});

export type BatchInput = z.infer<typeof batchInput>;
