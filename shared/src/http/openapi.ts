import type { Context, Hono } from "hono";
import { z } from "zod";
import { policyWithScript } from "./browser-headers.ts";
import { DOCS_SCRIPT, docsPage } from "./openapi-page.ts";
import { isMutating, OPEN_PATHS } from "./security.ts";
import { jsonBody, NO_BODY, pathParams, queryParams, strictBody } from "./validate.ts";

type Method = "get" | "post" | "put" | "delete";

/** /docs runs one script of its own, allowed by its hash (browser-headers.ts). */
const DOCS_POLICY = policyWithScript(DOCS_SCRIPT);
type Schema = z.ZodType;
type Infer<S> = S extends z.ZodType ? z.infer<S> : undefined;

export interface RouteSpec<
  B extends Schema | undefined,
  Q extends Schema | undefined,
  P extends Schema | undefined,
> {
  summary: string;
  description?: string;
  tags?: string[];
  body?: B;
  query?: Q;
  params?: P;
  /** Status code → description of the answers besides the validation 400. */
  responses?: Record<number, string>;
  /** Response media types other than JSON (e.g. text/csv, text/plain). */
  produces?: string[];
  /** An empty body counts as `{}` (otherwise a route with a body schema requires one). */
  optionalBody?: boolean;
}

export interface RouteInput<B, Q, P> {
  body: Infer<B>;
  query: Infer<Q>;
  params: Infer<P>;
}

type Handler<B, Q, P> = (c: Context, input: RouteInput<B, Q, P>) => Response | Promise<Response>;

const toJsonSchema = (schema: Schema) =>
  z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as {
    properties?: Record<string, object>;
    required?: string[];
  };

const errorSchema = {
  type: "object",
  properties: {
    error: {
      type: "object",
      properties: { code: { type: "string" }, message: { type: "string" } },
      required: ["code", "message"],
    },
  },
  required: ["error"],
};

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: errorSchema } },
});

/** What the shared security layer (security.ts) answers, documented on every operation it guards. */
const guardResponses = (mutating: boolean, open: boolean): Record<string, object> => ({
  ...(mutating || !open
    ? {
        "401": errorResponse(
          mutating
            ? "missing or wrong bearer token"
            : "missing or wrong bearer token (only when ADPIPE_READ_TOKEN is set)",
        ),
      }
    : {}),
  ...(mutating
    ? {
        "403": errorResponse("cross-origin request refused"),
        "413": errorResponse("body too large"),
        "415": errorResponse("body is not application/json"),
      }
    : {}),
  "414": errorResponse("query string too long"),
  "421": errorResponse("the Host header is not a name of this service (ADPIPE_ALLOWED_HOSTS)"),
});

function parameters(schema: Schema | undefined, where: "query" | "path") {
  if (!schema) return [];
  const json = toJsonSchema(schema);
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === "path" || (json.required ?? []).includes(name),
    schema: s,
  }));
}

/**
 * Routes declared once: the same zod schemas validate the request (a bad field is a 400 naming
 * it) and describe it in the service's OpenAPI 3.1 document, served at `/openapi.json` with a
 * browsable page at `/docs`. A route cannot drift from its documentation.
 */
export function createApi(app: Hono<any>, info: { title: string; version?: string; description?: string }) {
  const paths: Record<string, Record<string, object>> = {};

  function add<B extends Schema | undefined, Q extends Schema | undefined, P extends Schema | undefined>(
    method: Method,
    path: string,
    spec: RouteSpec<B, Q, P>,
    handler: Handler<B, Q, P>,
  ) {
    const openapiPath = path.replace(/:(\w+)/g, "{$1}");
    const mutating = isMutating(method);
    // Every body a route reads is parsed strictly; a mutating route without one still refuses
    // anything but nothing or `{}` (malformed JSON is a 400 everywhere, never ignored).
    const body = spec.body ? strictBody(spec.body) : mutating ? NO_BODY : undefined;
    const optionalBody = spec.body ? spec.optionalBody : true;
    const validated = Boolean(body || spec.query || spec.params);
    const responses: Record<string, object> = {};
    for (const [status, description] of Object.entries(spec.responses ?? { 200: "OK" })) {
      const content: Record<string, object> = { "application/json": {} };
      for (const type of spec.produces ?? []) content[type] = {};
      responses[status] = Number(status) >= 400 ? errorResponse(description) : { description, content };
    }
    if (validated) responses["400"] = errorResponse("invalid input; the message names the field");
    const open = OPEN_PATHS.has(path);
    Object.assign(responses, guardResponses(mutating, open));
    paths[openapiPath] ??= {};
    (paths[openapiPath] as Record<string, object>)[method] = {
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      ...(spec.tags ? { tags: spec.tags } : {}),
      security: mutating ? [{ bearerAuth: [] }] : open ? [{}] : [{}, { bearerAuth: [] }],
      operationId: `${method}${openapiPath.replace(/[^A-Za-z0-9]+(.)?/g, (_, ch: string | undefined) => (ch ?? "").toUpperCase())}`,
      parameters: [...parameters(spec.params, "path"), ...parameters(spec.query, "query")],
      ...(spec.body
        ? {
            requestBody: {
              required: !spec.optionalBody,
              content: { "application/json": { schema: toJsonSchema(strictBody(spec.body)) } },
            },
          }
        : {}),
      responses,
    };
    app.on(method.toUpperCase(), path, async (c) => {
      const params = spec.params ? pathParams(c, spec.params) : undefined;
      const query = spec.query ? queryParams(c, spec.query) : undefined;
      const parsed = body ? await jsonBody(c, body, { optional: optionalBody }) : undefined;
      const input = { params, query, body: spec.body ? parsed : undefined } as RouteInput<B, Q, P>;
      return handler(c, input);
    });
  }

  const api = {
    get: <Q extends Schema | undefined = undefined, P extends Schema | undefined = undefined>(
      path: string,
      spec: RouteSpec<undefined, Q, P>,
      handler: Handler<undefined, Q, P>,
    ) => add("get", path, spec, handler),
    post: <
      B extends Schema | undefined = undefined,
      Q extends Schema | undefined = undefined,
      P extends Schema | undefined = undefined,
    >(
      path: string,
      spec: RouteSpec<B, Q, P>,
      handler: Handler<B, Q, P>,
    ) => add("post", path, spec, handler),
    document: () => ({
      openapi: "3.1.0",
      info: {
        title: info.title,
        version: info.version ?? "1.0.0",
        ...(info.description ? { description: info.description } : {}),
      },
      // Relative: the document is served by the service it describes, wherever that listens.
      servers: [{ url: "/", description: "this service" }],
      paths,
      components: {
        securitySchemes: {
          bearerAuth: {
            type: "http",
            scheme: "bearer",
            description:
              "ADPIPE_API_TOKEN for every non-GET route; for reads only when ADPIPE_READ_TOKEN is set",
          },
        },
      },
    }),
  };

  api.get("/openapi.json", { summary: "This OpenAPI document", tags: ["meta"] }, (c) =>
    c.json(api.document()),
  );
  api.get("/docs", { summary: "Browsable API reference", tags: ["meta"], produces: ["text/html"] }, (c) =>
    c.html(docsPage(info.title), 200, { "Content-Security-Policy": DOCS_POLICY }),
  );
  return api;
}

export type Api = ReturnType<typeof createApi>;
