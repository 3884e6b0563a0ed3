import { checksumBytes } from "./cityhash128.ts";
import { type Exception, exception } from "./exception.ts";
import { Lz4Error, compress as lz4Compress, decompress as lz4Decompress } from "./lz4-block.ts";

/**
 * ClickHouse's own compressed framing (`compress=1` answers, `decompress=1` request bodies): a
 * sequence of blocks, each [16-byte CityHash128 v1.0.2 of the rest][1-byte method][4-byte size of
 * the block from the method byte on][4-byte decompressed size][data], sizes little-endian.
 * Methods: 0x82 LZ4 (what this server writes), 0x02 none, 0x90 ZSTD (read only).
 */
export const METHOD = { none: 0x02, lz4: 0x82, zstd: 0x90 } as const;
const CHECKSUM = 16;
const HEADER = 9;
/** A server's `max_compress_block_size`: answers are cut into blocks of at most this. */
export const BLOCK_BYTES = 1 << 20;
/** clickhouse's DBMS_MAX_COMPRESSED_SIZE: larger sizes in a header are refused, not allocated. */
const MAX_BLOCK = 0x40000000;

/** One block of `data`, LZ4 unless that does not make it smaller (then method none). */
export function encodeBlock(data: Uint8Array, method: "lz4" | "none" = "lz4"): Uint8Array {
  const packed = method === "lz4" ? lz4Compress(data) : data;
  const useLz4 = method === "lz4" && packed.byteLength < data.byteLength;
  const payload = useLz4 ? packed : data;
  const block = new Uint8Array(CHECKSUM + HEADER + payload.byteLength);
  const view = new DataView(block.buffer);
  block[CHECKSUM] = useLz4 ? METHOD.lz4 : METHOD.none;
  view.setUint32(CHECKSUM + 1, HEADER + payload.byteLength, true);
  view.setUint32(CHECKSUM + 5, data.byteLength, true);
  block.set(payload, CHECKSUM + HEADER);
  block.set(checksumBytes(block.subarray(CHECKSUM)), 0);
  return block;
}

/** A response body in blocks (one or more per chunk the stream gives; nothing for nothing). */
export function compressingStream(): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      for (let at = 0; at < chunk.byteLength; at += BLOCK_BYTES)
        controller.enqueue(encodeBlock(chunk.subarray(at, at + BLOCK_BYTES)));
    },
  });
}

/** A request body's framing fault, as ClickHouse names it. */
export class FramingError extends Error {
  override readonly name = "FramingError";
  constructor(readonly exception: Exception) {
    super(exception.text);
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function decodeBlock(block: Uint8Array, version: string): Uint8Array {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const body = block.subarray(CHECKSUM);
  const expected = block.subarray(0, CHECKSUM);
  const actual = checksumBytes(body);
  if (hex(expected) !== hex(actual))
    throw new FramingError(
      exception(
        40,
        "CHECKSUM_DOESNT_MATCH",
        `Checksum doesn't match: corrupted data. Reference: ${hex(expected)}. Actual: ${hex(actual)}. Size of compressed block: ${body.byteLength}`,
        version,
      ),
    );
  const method = body[0];
  const size = view.getUint32(CHECKSUM + 5, true);
  const data = body.subarray(HEADER);
  if (method === METHOD.none) {
    if (data.byteLength !== size)
      throw new FramingError(
        exception(271, "CANNOT_DECOMPRESS", "Uncompressed block size mismatch", version),
      );
    return data;
  }
  if (size > MAX_BLOCK)
    throw new FramingError(
      exception(39, "TOO_LARGE_SIZE_COMPRESSED", `Too large size_decompressed: ${size}`, version),
    );
  try {
    if (method === METHOD.lz4) return lz4Decompress(data, size);
    const out = Bun.zstdDecompressSync(data);
    if (out.byteLength !== size)
      throw new Error(`ZSTD block decoded to ${out.byteLength} bytes, header said ${size}`);
    return out;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const kind = err instanceof Lz4Error ? "LZ4" : "ZSTD";
    throw new FramingError(
      exception(271, "CANNOT_DECOMPRESS", `Cannot decompress ${kind} block: ${reason}`, version),
    );
  }
}

/** Reads a `decompress=1` body: checks each block's checksum, then yields its data. */
export function decompressingStream(
  version: string,
  /** Told the fault before the stream errors (readers of the stream see only that it failed). */
  onFault: (ex: Exception) => void = () => {},
): TransformStream<Uint8Array, Uint8Array> {
  let pending: Uint8Array = new Uint8Array(0);
  // Chunks that arrived after `pending`, joined only once a whole block is there: a big block
  // arriving in small chunks is copied once, not once per chunk.
  let waiting: Uint8Array[] = [];
  let waitingBytes = 0;
  /** The size `pending` must reach before it is looked at again. */
  let need = CHECKSUM + HEADER;
  const fail = (ex: Exception): never => {
    onFault(ex);
    throw new FramingError(ex);
  };
  const blocks = (controller: TransformStreamDefaultController<Uint8Array>) => {
    while (pending.byteLength >= CHECKSUM + HEADER) {
      const view = new DataView(pending.buffer, pending.byteOffset, pending.byteLength);
      const method = pending[CHECKSUM] ?? 0;
      if (method !== METHOD.none && method !== METHOD.lz4 && method !== METHOD.zstd)
        fail(
          exception(
            89,
            "UNKNOWN_COMPRESSION_METHOD",
            `Unknown compression method 0x${method.toString(16)}: the embedded server reads LZ4 (0x82), ZSTD (0x90) and none (0x02)`,
            version,
          ),
        );
      const size = view.getUint32(CHECKSUM + 1, true);
      if (size < HEADER || size > MAX_BLOCK)
        fail(
          exception(
            39,
            "TOO_LARGE_SIZE_COMPRESSED",
            `Bad size_compressed: ${size} (a block is 9 bytes to 1 GiB)`,
            version,
          ),
        );
      if (pending.byteLength < CHECKSUM + size) {
        need = CHECKSUM + size;
        break;
      }
      try {
        controller.enqueue(decodeBlock(pending.subarray(0, CHECKSUM + size), version));
      } catch (err) {
        if (err instanceof FramingError) fail(err.exception);
        throw err;
      }
      pending = pending.subarray(CHECKSUM + size);
      need = CHECKSUM + HEADER;
    }
  };
  return new TransformStream({
    transform(chunk, controller) {
      waiting.push(chunk);
      waitingBytes += chunk.byteLength;
      if (pending.byteLength + waitingBytes < need) return;
      pending = Buffer.concat([pending, ...waiting]);
      waiting = [];
      waitingBytes = 0;
      blocks(controller);
    },
    flush() {
      if (pending.byteLength + waitingBytes)
        fail(
          exception(
            33,
            "CANNOT_READ_ALL_DATA",
            `Cannot read all data: the body ends inside a compressed block (${pending.byteLength + waitingBytes} bytes left)`,
            version,
          ),
        );
    },
  });
}
