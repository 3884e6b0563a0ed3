import type { Context } from "hono";
import type { z } from "zod";
import { ValidationError } from "./errors.ts";

function fail(error: z.ZodError, where: string): never {
  const issue = error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join(".") : where;
  throw new ValidationError(field, issue?.message ?? "invalid");
}

/** Parses a JSON body (an empty body counts as `{}`); a bad one is a 400 naming the field. */
export async function jsonBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  return parseJson(await c.req.text(), schema);
}

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
