import { Duplex } from "node:stream";
import zlib from "node:zlib";
import { type Exception, exception } from "./exception.ts";

/**
 * HTTP compression as clickhouse-server does it: a request body in any `Content-Encoding` it
 * knows is decoded; a response is compressed only when the query asks with
 * `enable_http_compression=1` and the client accepts the method (`Accept-Encoding`).
 * ClickHouse's own block framing (`compress=1` for responses, `decompress=1` for request bodies:
 * LZ4 blocks with a CityHash128 checksum, what the JDBC driver sends by default) is not
 * implemented: it is refused with NOT_IMPLEMENTED, never answered with plain bytes a client would
 * misread.
 */
type Method = "gzip" | "deflate" | "zstd" | "brotli";
/** Bun's streams take all four; TypeScript's DOM types name only gzip and deflate. */
const streamFormat = (m: Method) => m as "gzip";

/** Content-Encoding names to Bun's (De)CompressionStream names. */
const ENCODINGS: Readonly<Record<string, Method>> = {
  gzip: "gzip",
  "x-gzip": "gzip",
  deflate: "deflate",
  zstd: "zstd",
  br: "brotli",
};
/** clickhouse-server's preference when a client accepts several. */
const PREFERENCE = ["gzip", "deflate", "zstd", "br"] as const;

const notImplemented = (message: string, version: string): Exception => ({
  ...exception(48, "NOT_IMPLEMENTED", message, version),
  status: 501,
});

/** The request's body decoded, or the refusal of an encoding this server cannot read. */
export function decodedBody(
  req: Request,
  url: URL,
  version: string,
): { body: ReadableStream<Uint8Array> | null } | { refused: Exception } {
  if (flag(url.searchParams.get("decompress")))
    return {
      refused: notImplemented(
        "decompress=1 (ClickHouse's native LZ4 block framing of the request body) is not supported by the embedded server; send the body plain or with Content-Encoding: gzip, deflate, br or zstd",
        version,
      ),
    };
  const encoding = req.headers.get("content-encoding")?.trim().toLowerCase();
  if (!req.body || !encoding || encoding === "identity") return { body: req.body };
  const method = ENCODINGS[encoding];
  if (!method)
    return {
      refused: {
        ...exception(
          36,
          "BAD_ARGUMENTS",
          `Content-Encoding ${JSON.stringify(encoding)} is not supported by the embedded server; use gzip, deflate, br or zstd`,
          version,
        ),
        status: 415,
      },
    };
  return {
    body: req.body.pipeThrough(new DecompressionStream(streamFormat(method))) as ReadableStream<Uint8Array>,
  };
}

const flag = (value: string | null) => value !== null && ["1", "true"].includes(value.toLowerCase());

/** Refuses `compress=1` before the query runs. */
export function refusedResponseFraming(url: URL, version: string): Exception | undefined {
  if (!flag(url.searchParams.get("compress"))) return undefined;
  return notImplemented(
    "compress=1 (ClickHouse's native LZ4 block framing of the response) is not supported by the embedded server; leave it off (JDBC: compress=0), and ask for HTTP compression with enable_http_compression=1 and Accept-Encoding instead",
    version,
  );
}

/** The Content-Encoding a response gets: one the client accepts, if the query enabled it. */
export function responseEncoding(req: Request, url: URL): (typeof PREFERENCE)[number] | undefined {
  if (!flag(url.searchParams.get("enable_http_compression"))) return undefined;
  const accepted = new Set(
    (req.headers.get("accept-encoding") ?? "")
      .split(",")
      .map((part) => part.split(";")[0]?.trim().toLowerCase())
      .filter(Boolean),
  );
  return PREFERENCE.find((m) => accepted.has(m));
}

/** The response compressed with `encoding` (headers kept, length dropped). */
export function compressed(response: Response, encoding: (typeof PREFERENCE)[number]): Response {
  if (!response.body) return response;
  const method = ENCODINGS[encoding] as Method;
  const headers = new Headers(response.headers);
  headers.set("Content-Encoding", encoding);
  headers.delete("Content-Length");
  headers.append("Vary", "Accept-Encoding");
  // Bun's brotli CompressionStream runs at quality 11: 6.5 s for 600 KB here. Quality 4 is what
  // servers use for dynamic content (0.2 s, and still smaller than gzip).
  const compressor =
    method === "brotli"
      ? (Duplex.toWeb(
          zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } }),
        ) as unknown as TransformStream<Uint8Array, Uint8Array>)
      : new CompressionStream(streamFormat(method));
  return new Response(response.body.pipeThrough(compressor), {
    status: response.status,
    headers,
  });
}
