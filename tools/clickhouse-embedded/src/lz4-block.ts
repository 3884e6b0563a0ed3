/**
 * The LZ4 block format (no frame: what ClickHouse's compressed blocks hold). The compressor is a
 * plain greedy one (one hash table of 4-byte sequences), fast enough for HTTP answers; any LZ4
 * decoder reads its output. The decoder checks every length and offset against both buffers, as
 * request bodies come from outside.
 */
const MIN_MATCH = 4;
/** The last 5 bytes are always literals, and no match starts in the last 12 (the format's rule). */
const LAST_LITERALS = 5;
const MF_LIMIT = 12;
const HASH_BITS = 16;
const MAX_OFFSET = 65_535;

const read32 = (b: Uint8Array, i: number) =>
  ((b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16) | ((b[i + 3] ?? 0) << 24)) >>> 0;
const hash = (v: number) => Math.imul(v, 2654435761) >>> (32 - HASH_BITS);

/** The most bytes `compress` can write for `n` input bytes. */
export const compressBound = (n: number) => n + Math.floor(n / 255) + 16;

function writeLength(out: Uint8Array, at: number, rest: number): number {
  let op = at;
  let n = rest;
  while (n >= 255) {
    out[op++] = 255;
    n -= 255;
  }
  out[op++] = n;
  return op;
}

function writeSequence(
  out: Uint8Array,
  at: number,
  src: Uint8Array,
  literalStart: number,
  literalEnd: number,
  match?: { offset: number; length: number },
): number {
  let op = at;
  const litLen = literalEnd - literalStart;
  const matchLen = match ? match.length - MIN_MATCH : 0;
  const token = op++;
  out[token] = (Math.min(litLen, 15) << 4) | Math.min(matchLen, 15);
  if (litLen >= 15) op = writeLength(out, op, litLen - 15);
  out.set(src.subarray(literalStart, literalEnd), op);
  op += litLen;
  if (match) {
    out[op++] = match.offset & 0xff;
    out[op++] = match.offset >>> 8;
    if (matchLen >= 15) op = writeLength(out, op, matchLen - 15);
  }
  return op;
}

/** `src` as one LZ4 block. */
export function compress(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(compressBound(src.byteLength));
  const table = new Int32Array(1 << HASH_BITS).fill(-1);
  const n = src.byteLength;
  const matchLimit = n - LAST_LITERALS;
  let anchor = 0;
  let ip = 0;
  let op = 0;
  while (ip < n - MF_LIMIT) {
    const seq = read32(src, ip);
    const h = hash(seq);
    const candidate = table[h] ?? -1;
    table[h] = ip;
    if (candidate < 0 || ip - candidate > MAX_OFFSET || read32(src, candidate) !== seq) {
      ip++;
      continue;
    }
    let length = MIN_MATCH;
    while (ip + length < matchLimit && src[candidate + length] === src[ip + length]) length++;
    op = writeSequence(out, op, src, anchor, ip, { offset: ip - candidate, length });
    ip += length;
    anchor = ip;
    // As LZ4 does: remember a position near the match's end, so the next repeat finds it.
    if (ip - 2 < n - MF_LIMIT) table[hash(read32(src, ip - 2))] = ip - 2;
  }
  op = writeSequence(out, op, src, anchor, n);
  return out.subarray(0, op);
}

export class Lz4Error extends Error {
  override readonly name = "Lz4Error";
}

function readLength(src: Uint8Array, at: number, base: number): [number, number] {
  let ip = at;
  let n = base;
  if (base !== 15) return [n, ip];
  for (;;) {
    if (ip >= src.byteLength) throw new Lz4Error("LZ4 block ends inside a length");
    const b = src[ip++] ?? 0;
    n += b;
    if (b !== 255) return [n, ip];
  }
}

/** One LZ4 block that must decode to exactly `size` bytes. */
export function decompress(src: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let ip = 0;
  let op = 0;
  while (ip < src.byteLength) {
    const token = src[ip++] ?? 0;
    let litLen: number;
    [litLen, ip] = readLength(src, ip, token >>> 4);
    if (ip + litLen > src.byteLength || op + litLen > size) throw new Lz4Error("LZ4 literals out of bounds");
    out.set(src.subarray(ip, ip + litLen), op);
    ip += litLen;
    op += litLen;
    if (ip === src.byteLength) break;
    if (ip + 2 > src.byteLength) throw new Lz4Error("LZ4 block ends inside an offset");
    const offset = (src[ip] ?? 0) | ((src[ip + 1] ?? 0) << 8);
    ip += 2;
    if (offset === 0 || offset > op) throw new Lz4Error("LZ4 match offset out of bounds");
    let matchLen: number;
    [matchLen, ip] = readLength(src, ip, token & 15);
    matchLen += MIN_MATCH;
    if (op + matchLen > size) throw new Lz4Error("LZ4 match past the decompressed size");
    let from = op - offset;
    // Byte by byte: a match may overlap the bytes it produces.
    for (const end = op + matchLen; op < end; ) out[op++] = out[from++] ?? 0;
  }
  if (op !== size) throw new Lz4Error(`LZ4 block decoded to ${op} bytes, header said ${size}`);
  return out;
}
