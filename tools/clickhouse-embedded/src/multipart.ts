import { type Exception, exception } from "./exception.ts";

/**
 * A `multipart/form-data` body, as clickhouse-server reads it: its text fields are parameters
 * like the URL's (`query`, `param_<name>` for values too long for a URL, settings), and the body
 * holds no SQL or data of its own. Its file fields are external tables (`--external` data),
 * which the embedded server does not support: they are refused, never ignored.
 * Returns the URL with the form's fields added, or the refusal; undefined when the body is not a form.
 */
export async function formFields(
  req: Request,
  url: URL,
  version: string,
): Promise<{ url: URL } | { refused: Exception } | undefined> {
  if (!req.headers.get("content-type")?.toLowerCase().startsWith("multipart/form-data")) return undefined;
  let form: Awaited<ReturnType<Request["formData"]>>;
  try {
    form = await req.formData();
  } catch (err) {
    return {
      refused: exception(
        36,
        "BAD_ARGUMENTS",
        `cannot read the multipart/form-data body: ${err instanceof Error ? err.message : String(err)}`,
        version,
      ),
    };
  }
  const merged = new URL(url);
  for (const [name, value] of form) {
    if (typeof value !== "string")
      return {
        refused: {
          ...exception(
            48,
            "NOT_IMPLEMENTED",
            `external data (the file field ${JSON.stringify(name)} of a multipart/form-data body) is not supported by the embedded server; load it into a temporary table first`,
            version,
          ),
          status: 501,
        },
      };
    merged.searchParams.append(name, value);
  }
  return { url: merged };
}
