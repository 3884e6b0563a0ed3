import type { Context } from "hono";
import { z } from "zod";
import { ValidationError } from "./errors.ts";

function fail(error: z.ZodError, where: string): never {
  const issue = error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join(".") : where;
  throw new ValidationError(field, issue?.message ?? "invalid");
}

/**
 * Parses a JSON body; a bad one is a 400 naming the field. An empty body is a 400 too unless
 * `optional` (then it counts as `{}`), so a bare POST never runs on defaults nobody chose.
 */
export async function jsonBody<T extends z.ZodType>(
  c: Context,
  schema: T,
  { optional = false }: { optional?: boolean } = {},
): Promise<z.infer<T>> {
  const text = await c.req.text();
  if (!optional && text.trim() === "")
    throw new ValidationError("body", "required (send a JSON object, {} for the defaults)");
  return parseJson(text, schema);
}

/**
 * A number in a JSON body: a JSON number and nothing else. `true`, `[1]`, `"2"`, `"0x2"` and
 * `1e999` (Infinity once parsed) are refused instead of being coerced.
 */
export const jsonNumber = (message = "expected a number") => z.number({ message });

/**
 * A whole number in a query string or path: plain decimal digits only (`12`; not `0x1`, ` 1`,
 * `1e3`, `+1`), then checked as a number by `then`.
 */
export const decimalInt = (then: z.ZodNumber, message = "expected an integer") =>
  z
    .string()
    .regex(/^\d{1,16}$/, message)
    .transform(Number)
    .pipe(then);

/** JSON text against a schema, for HTTP bodies and NATS request payloads alike ("" means `{}`). */
export function parseJson<T extends z.ZodType>(text: string, schema: T): z.infer<T> {
  let raw: unknown = {};
  if (text.trim() !== "") {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new ValidationError("body", "invalid JSON");
    }
  }
  const result = schema.safeParse(raw);
  if (!result.success) fail(result.error, "body");
  return result.data;
}

/** Parses the query string; a bad parameter is a 400 naming it. */
export function queryParams<T extends z.ZodType>(c: Context, schema: T): z.infer<T> {
  const result = schema.safeParse(c.req.query());
  if (!result.success) fail(result.error, "query");
  return result.data;
}

/** Parses a route parameter; a bad one is a 400 naming it. */
export function pathParams<T extends z.ZodType>(c: Context, schema: T): z.infer<T> {
  const result = schema.safeParse(c.req.param());
  if (!result.success) fail(result.error, "path");
  return result.data;
}
