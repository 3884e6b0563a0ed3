/**
 * CityHash128 as CityHash v1.0.2 defines it: the version ClickHouse pins for the checksums of its
 * compressed blocks (later CityHash releases give other values). Written from the algorithm's
 * description; checked against blocks clickhouse itself wrote (cityhash128.test.ts).
 *
 * 64-bit arithmetic in BigInt, every result cut back to 64 bits.
 */
const M = (1n << 64n) - 1n;
const k0 = 0xc3a5c85c97cb3127n;
const k1 = 0xb492b66fbe98f273n;
const k2 = 0x9ae16a3b2f90404fn;
const k3 = 0xc949d7c7509e6557n;
const kMul = 0x9ddfea08eb382d69n;

const mul = (a: bigint, b: bigint) => (a * b) & M;
const add = (a: bigint, b: bigint) => (a + b) & M;
const rotate = (v: bigint, shift: number) => {
  if (shift === 0) return v;
  const s = BigInt(shift);
  return ((v >> s) | (v << (64n - s))) & M;
};
const shiftMix = (v: bigint) => v ^ (v >> 47n);

function hashLen16(u: bigint, v: bigint): bigint {
  let a = mul(u ^ v, kMul);
  a ^= a >> 47n;
  let b = mul(v ^ a, kMul);
  b ^= b >> 47n;
  return mul(b, kMul);
}

class Reader {
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u64(at: number): bigint {
    return this.view.getBigUint64(at, true);
  }
  u32(at: number): bigint {
    return BigInt(this.view.getUint32(at, true));
  }
}

function hashLen0to16(r: Reader, s: number, len: number): bigint {
  const n = BigInt(len);
  if (len > 8) {
    const a = r.u64(s);
    const b = r.u64(s + len - 8);
    // RotateByAtLeast1: the shift is len itself (9..16), never 0.
    return hashLen16(a, rotate(add(b, n), len)) ^ b;
  }
  if (len >= 4) {
    const a = r.u32(s);
    return hashLen16(add(n, a << 3n), r.u32(s + len - 4));
  }
  if (len > 0) {
    const a = BigInt(r.bytes[s] ?? 0);
    const b = BigInt(r.bytes[s + (len >> 1)] ?? 0);
    const c = BigInt(r.bytes[s + len - 1] ?? 0);
    const y = (a + (b << 8n)) & 0xffffffffn;
    const z = (n + (c << 2n)) & 0xffffffffn;
    return mul(shiftMix(mul(y, k2) ^ mul(z, k3)), k2);
  }
  return k2;
}

type Pair = [bigint, bigint];

function weakHashLen32WithSeeds(r: Reader, s: number, a0: bigint, b0: bigint): Pair {
  const w = r.u64(s);
  const x = r.u64(s + 8);
  const y = r.u64(s + 16);
  const z = r.u64(s + 24);
  let a = add(a0, w);
  let b = rotate(add(add(b0, a), z), 21);
  const c = a;
  a = add(add(a, x), y);
  b = add(b, rotate(a, 44));
  return [add(a, z), add(b, c)];
}

function cityMurmur(r: Reader, start: number, len: number, seed: Pair): Pair {
  let [a, b] = seed;
  let c: bigint;
  let d: bigint;
  let s = start;
  let l = len - 16;
  if (l <= 0) {
    a = mul(shiftMix(mul(a, k1)), k1);
    c = add(mul(b, k1), hashLen0to16(r, s, len));
    d = shiftMix(add(a, len >= 8 ? r.u64(s) : c));
  } else {
    c = hashLen16(add(r.u64(s + len - 8), k1), a);
    d = hashLen16(add(b, BigInt(len)), add(c, r.u64(s + len - 16)));
    a = add(a, d);
    do {
      a ^= mul(shiftMix(mul(r.u64(s), k1)), k1);
      a = mul(a, k1);
      b ^= a;
      c ^= mul(shiftMix(mul(r.u64(s + 8), k1)), k1);
      c = mul(c, k1);
      d ^= c;
      s += 16;
      l -= 16;
    } while (l > 0);
  }
  a = hashLen16(a, c);
  b = hashLen16(d, b);
  return [a ^ b, hashLen16(b, a)];
}

function cityHash128WithSeed(r: Reader, start: number, length: number, seed: Pair): Pair {
  if (length < 128) return cityMurmur(r, start, length, seed);
  let s = start;
  let len = length;
  let [x, y] = seed;
  let z = mul(BigInt(len), k1);
  const v: Pair = [0n, 0n];
  const w: Pair = [0n, 0n];
  v[0] = add(mul(rotate(y ^ k1, 49), k1), r.u64(s));
  v[1] = add(mul(rotate(v[0], 42), k1), r.u64(s + 8));
  w[0] = add(mul(rotate(add(y, z), 35), k1), x);
  w[1] = mul(rotate(add(x, r.u64(s + 88)), 53), k1);
  const round = () => {
    x = mul(rotate(add(add(add(x, y), v[0]), r.u64(s + 16)), 37), k1);
    y = mul(rotate(add(add(y, v[1]), r.u64(s + 48)), 42), k1);
    x ^= w[1];
    y ^= v[0];
    z = rotate(z ^ w[0], 33);
    [v[0], v[1]] = weakHashLen32WithSeeds(r, s, mul(v[1], k1), add(x, w[0]));
    [w[0], w[1]] = weakHashLen32WithSeeds(r, s + 32, add(z, w[1]), y);
    [z, x] = [x, z];
    s += 64;
  };
  do {
    round();
    round();
    len -= 128;
  } while (len >= 128);
  y = add(y, add(mul(rotate(w[0], 37), k0), z));
  x = add(x, mul(rotate(add(v[0], z), 49), k0));
  // Up to four 32-byte pieces from the end of the input.
  for (let tailDone = 0; tailDone < len; ) {
    tailDone += 32;
    y = add(mul(rotate((y - x) & M, 42), k0), v[1]);
    w[0] = add(w[0], r.u64(s + len - tailDone + 16));
    x = add(mul(rotate(x, 49), k0), w[0]);
    w[0] = add(w[0], v[0]);
    [v[0], v[1]] = weakHashLen32WithSeeds(r, s + len - tailDone, v[0], v[1]);
  }
  x = hashLen16(x, v[0]);
  y = hashLen16(y, w[0]);
  return [add(hashLen16(add(x, v[1]), w[1]), y), hashLen16(add(x, w[1]), add(y, v[1]))];
}

/** CityHash128 (v1.0.2) of `bytes`: [low 64 bits, high 64 bits]. */
export function cityHash128(bytes: Uint8Array): Pair {
  const r = new Reader(bytes);
  const len = bytes.byteLength;
  if (len >= 16) return cityHash128WithSeed(r, 16, len - 16, [r.u64(0) ^ k3, r.u64(8)]);
  if (len >= 8) {
    const n = BigInt(len);
    return cityHash128WithSeed(r, 0, 0, [r.u64(0) ^ mul(n, k0), r.u64(len - 8) ^ k1]);
  }
  return cityHash128WithSeed(r, 0, len, [k0, k1]);
}

/** The 16 bytes ClickHouse writes before a compressed block: low then high half, little-endian. */
export function checksumBytes(bytes: Uint8Array): Uint8Array {
  const [low, high] = cityHash128(bytes);
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, low, true);
  view.setBigUint64(8, high, true);
  return out;
}
