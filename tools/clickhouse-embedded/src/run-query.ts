import type { StreamChunk } from "chdb";
import type { Connection } from "./engine.ts";
import { toException } from "./exception.ts";
import { errorResponse, headers, type ResponseMeta, streamedException } from "./response.ts";

/** Only plain SELECTs can stream out of chDB; everything else is answered in one piece. */
const STREAMABLE = /^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*(?:SELECT|WITH|\()/i;
const INSERT = /^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*INSERT\b/i;
/** The output format a query names itself, which wins over `default_format`. */
const FORMAT_CLAUSE = /\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$/i;

/** Output buffered before the headers go out, so most errors still get a proper status. */
const RESPONSE_BUFFER_BYTES = 1 << 20;

export interface QueryResponse {
  response: Response;
  /** True when the response stream owns (and closes) the connection. */
  handedOff: boolean;
}

export async function runQuery(
  connection: Connection,
  sql: string,
  meta: ResponseMeta,
  waitEndOfQuery: boolean,
  version: string,
): Promise<QueryResponse> {
  const isSelect = STREAMABLE.test(sql);
  const format = (isSelect && FORMAT_CLAUSE.exec(sql)?.[1]) || meta.format;
  const out: ResponseMeta = { ...meta, format };
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started);

  if (INSERT.test(sql)) {
    // The raw-insert entry reports rows written, which the client reads from the summary.
    const result = await connection.insertRaw(sql, Buffer.alloc(0));
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

  if (!isSelect) {
    const result = await connection.session.queryAsync(sql, { format: meta.format });
    const bytes = result.bytes();
    return {
      handedOff: false,
      response: new Response(bytes.byteLength ? bytes : null, {
        headers: headers(out, {
          read_rows: result.rowsRead,
          read_bytes: result.bytesRead,
          result_bytes: bytes.byteLength,
          elapsed_ns: elapsed(),
        }),
      }),
    };
  }

  const stream = connection.session.queryStream(sql, { format: meta.format });
  const chunks = stream[Symbol.asyncIterator]();
  const buffered: Uint8Array[] = [];
  let size = 0;
  let rows = 0;
  let done = false;
  try {
    while (waitEndOfQuery || size < RESPONSE_BUFFER_BYTES) {
      const next = await chunks.next();
      if (next.done) {
        done = true;
        break;
      }
      const chunk: StreamChunk = next.value;
      buffered.push(chunk.raw());
      size += chunk.numBytes;
      rows += chunk.numRows;
    }
  } catch (err) {
    stream.cancel();
    return { handedOff: false, response: errorResponse(toException(err, version), out) };
  }
  if (done) {
    const body = buffered.length === 1 ? buffered[0] : Buffer.concat(buffered);
    return {
      handedOff: false,
      response: new Response(size ? body : null, {
        headers: headers(out, { result_rows: rows, result_bytes: size, elapsed_ns: elapsed() }),
      }),
    };
  }

  // The rest streams; the connection closes when the client has read it or went away.
  const tag = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
  const responseHeaders = headers(out, { result_rows: rows, result_bytes: size, elapsed_ns: elapsed() });
  responseHeaders.set("X-ClickHouse-Exception-Tag", tag);
  const finish = () => {
    stream.cancel();
    connection.close();
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const b of buffered) controller.enqueue(b);
    },
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) {
          controller.close();
          finish();
        } else {
          controller.enqueue(next.value.raw());
        }
      } catch (err) {
        controller.enqueue(streamedException(toException(err, version).text, tag));
        controller.close();
        finish();
      }
    },
    cancel: finish,
  });
  return { handedOff: true, response: new Response(body, { headers: responseHeaders }) };
}
