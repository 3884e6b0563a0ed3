/** One message body: whole rows exactly as COPY wrote them, each ending in a newline. */
export interface RowBatch {
  body: Uint8Array;
  rows: number;
}

export interface BatchLimits {
  /** Upper bound for one body in bytes (the server's max payload minus room for headers). */
  maxBytes: number;
  /** Upper bound for rows in one body, so one ClickHouse insert stays a sensible size. */
  maxRows: number;
}

const NEWLINE = 10;

export class RowTooLargeError extends Error {
  constructor(maxBytes: number) {
    super(`a single row is larger than the batch limit of ${maxBytes} bytes`);
    this.name = "RowTooLargeError";
  }
}

/**
 * Cuts COPY's text output into bodies of whole rows. COPY escapes newlines inside values (`\n`),
 * so every raw newline byte ends a row; its chunks, though, end anywhere, so a row often straddles
 * two of them. Memory stays bounded by one preallocated buffer of `maxBytes` however large the
 * table: each body is copied out as it is cut, and the caller's backpressure (awaiting the
 * consumer of this generator) pauses the source.
 */
export async function* splitRows(
  source: AsyncIterable<Uint8Array>,
  { maxBytes, maxRows }: BatchLimits,
): AsyncGenerator<RowBatch> {
  const buf = new Uint8Array(maxBytes);
  let len = 0; // bytes held in buf
  let scanned = 0; // bytes of buf already searched for newlines
  let rows = 0; // complete rows in buf[0, rowsEnd)
  let rowsEnd = 0;

  const cut = (): RowBatch => {
    const batch = { body: buf.slice(0, rowsEnd), rows };
    buf.copyWithin(0, rowsEnd, len);
    len -= rowsEnd;
    scanned = 0;
    rows = 0;
    rowsEnd = 0;
    return batch;
  };

  // Counts rows in the unscanned part; stops early when the row limit is reached.
  const scan = (): boolean => {
    for (let i = scanned; i < len; i++) {
      if (buf[i] === NEWLINE) {
        rows++;
        rowsEnd = i + 1;
        if (rows === maxRows) {
          scanned = i + 1;
          return true;
        }
      }
    }
    scanned = len;
    return false;
  };

  for await (const chunk of source) {
    let offset = 0;
    while (offset < chunk.length) {
      if (len === maxBytes) {
        if (rowsEnd === 0) throw new RowTooLargeError(maxBytes);
        yield cut();
        while (scan()) yield cut();
      }
      const take = Math.min(maxBytes - len, chunk.length - offset);
      buf.set(chunk.subarray(offset, offset + take), len);
      len += take;
      offset += take;
      while (scan()) yield cut();
    }
  }
  if (len > rowsEnd) throw new Error("COPY output ended inside a row");
  if (rows > 0) yield cut();
}
