import { Duplex } from "node:stream";
import zlib from "node:zlib";
import { type Exception, exception } from "./exception.ts";
import { compressingStream, decompressingStream } from "./native-compression.ts";

/**
 * HTTP compression as clickhouse-server does it: a request body in any `Content-Encoding` it
 * knows is decoded; a response is compressed only when the query asks with
 * `enable_http_compression=1` and the client accepts the method (`Accept-Encoding`).
 * ClickHouse's own block framing (`compress=1` for answers, `decompress=1` for request bodies:
 * LZ4 blocks with a CityHash128 checksum, what the JDBC driver uses by default) sits inside the
 * HTTP encoding, as on a server (native-compression.ts).
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

export interface DecodedBody {
  body: ReadableStream<Uint8Array> | null;
  /** What went wrong in `decompress=1` framing, once reading the body failed (else undefined). */
  framingFault(): Exception | undefined;
}

/** The request's body decoded (HTTP encoding, then ClickHouse's framing), or a refusal. */
export function decodedBody(req: Request, url: URL, version: string): DecodedBody | { refused: Exception } {
  const decoded = httpDecoded(req, version);
  if ("refused" in decoded || !decoded.body || !flag(url.searchParams.get("decompress")))
    return "refused" in decoded ? decoded : { body: decoded.body, framingFault: () => undefined };
  let fault: Exception | undefined;
  const framing = decompressingStream(version, (ex) => {
    fault = ex;
  });
  decoded.body.pipeTo(framing.writable).catch(() => {});
  return { body: framing.readable, framingFault: () => fault };
}

function httpDecoded(
  req: Request,
  version: string,
): { body: ReadableStream<Uint8Array> | null } | { refused: Exception } {
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

/**
 * A `compress=1` answer in ClickHouse's block framing. Only a successful one: a server writes an
 * error that comes before any output plain (its message is for people), and one in the middle
 * of a stream inside the framing, which the stream's body carries here too.
 */
export function framed(response: Response, url: URL): Response {
  if (!flag(url.searchParams.get("compress")) || !response.ok || !response.body) return response;
  const headers = new Headers(response.headers);
  headers.delete("Content-Length");
  return new Response(response.body.pipeThrough(compressingStream()), { status: response.status, headers });
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
