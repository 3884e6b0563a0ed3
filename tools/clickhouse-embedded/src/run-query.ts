import type { StreamChunk } from "chdb";
import type { Connection } from "./engine.ts";
import { type Exception, toException } from "./exception.ts";
import { headerStripper, outputShape } from "./formats.ts";
import { errorResponse, headers, type ResponseMeta, streamedException } from "./response.ts";
import { spill } from "./spill.ts";

/** Only plain SELECTs can stream out of chDB; everything else is answered in one piece. */
const STREAMABLE = /^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*(?:SELECT|WITH|\()/i;
const INSERT = /^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*INSERT\b/i;
/** The output format a query names itself, which wins over `default_format`. */
const FORMAT_CLAUSE = /\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$/i;

/** Output buffered before the headers go out, so most errors still get a proper status. */
const RESPONSE_BUFFER_BYTES = 1 << 20;

/** NO_DATA_TO_INSERT: an INSERT whose data (the rest of the body) is empty. */
const NO_DATA_TO_INSERT = 108;

export interface QueryResponse {
  response: Response;
  /** True when the response stream owns the connection and calls `release` when done. */
  handedOff: boolean;
}

export interface QueryContext {
  connection: Connection;
  meta: ResponseMeta;
  waitEndOfQuery: boolean;
  version: string;
  /**
   * Called once a handed-off stream is over (read, failed or abandoned), and awaited before the
   * body ends: a session must be free again when its client sees the end of the answer.
   */
  release: () => Promise<void>;
  /** Called with chDB's stream while it runs, so KILL QUERY can stop it. */
  onStream?: (cancel: () => void) => void;
  /** A comment the engine's copy of the SQL ends with, to find it in `system.processes` (queries.ts). */
  marker?: string;
  /** Told the exception a handed-off stream ended with (query-log.ts). */
  onStreamFailure?: (ex: Exception) => void;
  /** Where a `wait_end_of_query=1` answer past the in-memory buffer waits for the query's end. */
  spoolDir?: string;
}

export function outputFormat(sql: string, fallback: string): string {
  return (STREAMABLE.test(sql) && FORMAT_CLAUSE.exec(sql)?.[1]) || fallback;
}

export async function runQuery(sql: string, ctx: QueryContext): Promise<QueryResponse> {
  const { connection, meta, version } = ctx;
  const isSelect = STREAMABLE.test(sql);
  const format = outputFormat(sql, meta.format);
  const out: ResponseMeta = { ...meta, format };
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started);

  if (INSERT.test(sql)) {
    // The raw-insert entry reports rows written, which the client reads from the summary. An
    // INSERT with no data after it inserts nothing on a server (clients that batch send those).
    const result = await connection.insertRaw(sql, Buffer.alloc(0)).catch((err) => {
      if (toException(err, version).code === NO_DATA_TO_INSERT) return { rowsWritten: 0, bytesWritten: 0 };
      throw err;
    });
    return {
      handedOff: false,
      response: new Response(null, {
        headers: headers(out, {
          written_rows: result.rowsWritten,
          written_bytes: result.bytesWritten,
          elapsed_ns: elapsed(),
        }),
      }),
    };
  }

  const shape = outputShape(format);
  if (!isSelect || shape.kind === "document") {
    // Whole-document formats (JSON with its meta, totals and statistics, XML, Parquet, ...) come
    // out of the engine in one piece: chDB's stream would make a document of every chunk.
    const result = await connection.session.queryAsync(sql + (ctx.marker ?? ""), { format: meta.format });
    const bytes = result.bytes();
    return {
      handedOff: false,
      response: new Response(bytes.byteLength ? bytes : null, {
        // chDB's rowsRead/bytesRead count the result's rows and bytes, not what the query read.
        headers: headers(out, {
          result_rows: result.rowsRead,
          result_bytes: bytes.byteLength,
          elapsed_ns: elapsed(),
        }),
      }),
    };
  }

  const stream = connection.session.queryStream(sql + (ctx.marker ?? ""), { format: meta.format });
  ctx.onStream?.(() => stream.cancel());
  const strip = headerStripper(shape);
  const chunks = stream[Symbol.asyncIterator]();
  const buffered: Uint8Array[] = [];
  let size = 0;
  let rows = 0;
  let done = false;
  let disk: ReturnType<typeof spill> | undefined;
  try {
    while (ctx.waitEndOfQuery || size < RESPONSE_BUFFER_BYTES) {
      const next = await chunks.next();
      if (next.done) {
        done = true;
        break;
      }
      const chunk: StreamChunk = next.value;
      const bytes = strip(chunk.raw());
      if (size >= RESPONSE_BUFFER_BYTES && ctx.spoolDir) {
        disk ??= spill(ctx.spoolDir);
        disk.write(bytes);
      } else buffered.push(bytes);
      size += bytes.byteLength;
      rows += chunk.numRows;
    }
  } catch (err) {
    stream.cancel();
    await disk?.discard();
    return { handedOff: false, response: errorResponse(toException(err, version), out) };
  }
  if (done) {
    const summary = { result_rows: rows, result_bytes: size, elapsed_ns: elapsed() };
    if (disk)
      return {
        handedOff: false,
        response: new Response(await disk.body(buffered), { headers: headers(out, summary) }),
      };
    const body = buffered.length === 1 ? buffered[0] : Buffer.concat(buffered);
    return {
      handedOff: false,
      response: new Response(size ? body : null, { headers: headers(out, summary) }),
    };
  }

  // The rest streams; the connection is released when the client has read it or went away.
  const tag = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
  const responseHeaders = headers(out, { result_rows: rows, result_bytes: size, elapsed_ns: elapsed() });
  responseHeaders.set("X-ClickHouse-Exception-Tag", tag);
  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    stream.cancel();
    await ctx.release();
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const b of buffered) controller.enqueue(b);
    },
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) {
          await finish();
          controller.close();
        } else {
          controller.enqueue(strip(next.value.raw()));
        }
      } catch (err) {
        const ex = toException(err, version);
        ctx.onStreamFailure?.(ex);
        controller.enqueue(streamedException(ex.text, tag));
        await finish();
        controller.close();
      }
    },
    cancel: finish,
  });
  return { handedOff: true, response: new Response(body, { headers: responseHeaders }) };
}
