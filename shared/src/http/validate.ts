import type { Context } from "hono";
import { z } from "zod";
import { ValidationError } from "./errors.ts";

function fail(error: z.ZodError, where: string): never {
  const issue = error.issues[0];
  if (issue?.code === "unrecognized_keys") {
    // Named one by one: a misspelt field must not silently fall back to a default.
    const field = [...issue.path, issue.keys.join(", ")].join(".");
    throw new ValidationError(field, issue.keys.length > 1 ? "unknown fields" : "unknown field");
  }
  const field = issue && issue.path.length > 0 ? issue.path.join(".") : where;
  throw new ValidationError(field, issue?.message ?? "invalid");
}

/**
 * The first key that appears twice in one object of valid JSON text, with its path, or
 * undefined. `JSON.parse` keeps the last of them silently, so `{"confirm":"no","confirm":"yes"}`
 * would mean whatever the last writer wanted while a proxy or log reads the first.
 */
export function duplicateKey(text: string): string | undefined {
  type Frame = { keys: Set<string> | null; expectKey: boolean; key?: string };
  const stack: Frame[] = [];
  // Where the object holding the key sits: the current key of each enclosing object.
  const path = () =>
    stack
      .slice(0, -1)
      .map((f) => f.key)
      .filter((k) => k !== undefined)
      .join(".");
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const top = stack[stack.length - 1];
    if (ch === "{") stack.push({ keys: new Set(), expectKey: true });
    else if (ch === "[") stack.push({ keys: null, expectKey: false });
    else if (ch === "}" || ch === "]") stack.pop();
    else if (ch === "," && top?.keys) top.expectKey = true;
    else if (ch === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) return path() ? `${path()}.${key}` : key;
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = end;
    }
  }
  return undefined;
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
  const value = parseJson(text, schema);
  const twice = duplicateKey(text);
  if (twice !== undefined) throw new ValidationError(twice, "given more than once");
  return value;
}

/**
 * A body schema as HTTP routes apply it: an object refuses fields it does not declare (400
 * naming them) instead of dropping them, so `{"count":2,"cuont":5}` is an error, not a default.
 */
export function strictBody<T extends z.ZodType>(schema: T): T {
  return (schema instanceof z.ZodObject ? schema.strict() : schema) as T;
}

/** What a route without a body accepts: nothing, or an empty JSON object. */
export const NO_BODY = z.strictObject({});

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

/**
 * Parses the query string; a bad parameter is a 400 naming it, and so is one given twice
 * (`?campaign_id=1&campaign_id=2` is ambiguous: every parameter takes one value).
 */
export function queryParams<T extends z.ZodType>(c: Context, schema: T): z.infer<T> {
  for (const [name, values] of Object.entries(c.req.queries()))
    if (values.length > 1) throw new ValidationError(name, "given more than once");
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
