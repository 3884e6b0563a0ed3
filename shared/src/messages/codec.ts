import type { z } from "zod";
import { parseJson } from "../http/validate.ts";

/**
 * A JSON message's codec: `encode` for the producer, `decode` for the consumer, both from one
 * zod schema. Both validate: a producer cannot send what its consumers would refuse, and
 * `decode` throws a ValidationError naming the first bad field, so a consumer can set the
 * message aside with that reason.
 */
export interface JsonCodec<S extends z.ZodType> {
  readonly schema: S;
  encode(value: z.input<S>): string;
  decode(data: Uint8Array | string): z.output<S>;
}

export function jsonCodec<S extends z.ZodType>(schema: S): JsonCodec<S> {
  return {
    schema,
    encode: (value) => JSON.stringify(schema.parse(value)),
    decode: (data) => parseJson(typeof data === "string" ? data : new TextDecoder().decode(data), schema),
  };
}

/** A decimal xid8 (PostgreSQL transaction id), as text: JSON numbers stop being exact at 2^53. */
export const XID8 = /^\d{1,20}$/;
