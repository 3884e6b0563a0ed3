import { describe, expect, test } from "bun:test";
import { checksumBytes, cityHash128 } from "./cityhash128.ts";
import { compress, decompress, Lz4Error } from "./lz4-block.ts";
import { BLOCK_BYTES, compressingStream, decompressingStream, encodeBlock } from "./native-compression.ts";

/**
 * Vectors written by ClickHouse itself (chDB 3.4, ClickHouse 26.7): column files of MergeTree
 * parts are sequences of the same compressed blocks as `compress=1`. The `c UInt8 CODEC(NONE)`
 * column of `INSERT ... SELECT (number * 7919) % 251 FROM numbers(k)` is one block of method 0x02
 * whose data is those k bytes; its first 16 bytes are ClickHouse's CityHash128 of the rest.
 * (native-compression.integration.test.ts has the engine write them again, for k = 1..300.)
 */
const NONE_BLOCK_CHECKSUMS: Record<number, string> = {
  2: "cee51b88d387f259257b912fe3b58764",
  3: "a226004e9f2280d0aa6d40f1bf6071fb",
  6: "2d4771ff91414255c9045d45d43e66bf",
  7: "3f730d32b6d36c19e080f9dadf72d884",
  8: "d80b1fa6fdb68300a436cd6e5d892b6e",
  50: "f17a5c1da508ba8854e6bba5be5a88f6",
  119: "89746256f8ab0b459adb9361622f2675",
  120: "1a489e948257783f4e13ab12248a02f3",
  200: "ff9dbb45aab8c28670b91bbb1abba5c3",
  1000: "835cd7e096f2af9fc32656eeb8ab3f5d",
  5000: "24f1de30661bc8001fffedbfea79817d",
};

/** The method byte, sizes and data of the NONE block of k bytes (what the checksum covers). */
function noneBlockBody(k: number): Uint8Array {
  const body = new Uint8Array(9 + k);
  const view = new DataView(body.buffer);
  body[0] = 0x02;
  view.setUint32(1, 9 + k, true);
  view.setUint32(5, k, true);
  for (let i = 0; i < k; i++) body[9 + i] = (i * 7919) % 251;
  return body;
}

/**
 * The `s String CODEC(LZ4)` column's character file of `INSERT ... SELECT concat('row ',
 * toString(number), ' ', repeat('ab', number % 5)) FROM numbers(40)`: one LZ4 block (0x82),
 * checksum included, as ClickHouse compressed it.
 */
const CLICKHOUSE_LZ4_BLOCK = [
  "a9b97a02183e3c593df5dd97de5649f682ca000000ae01000060726f7720302006004031206162080042322061620a00",
  "11330a00020c0013340c00020e00113532001336320011371c00003c0011380a00020c0013390c00020e001331650004",
  "660016316700183168001a31690012316a0014316b0016316c0018316d001a316e0012326e0014326e0016326e001832",
  "6e001a326e0012326e0014326e0016326e0018326e001a326e0012336e0014336e0016336e0018336e001a336e001233",
  "6e0014336e0016336e0018336e00b03339206162616261626162",
].join("");
const CLICKHOUSE_LZ4_TEXT = Array.from({ length: 40 }, (_, n) => `row ${n} ${"ab".repeat(n % 5)}`).join("");

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("CityHash128 v1.0.2", () => {
  test("matches the checksums ClickHouse wrote, for inputs of 11 to 5009 bytes (every branch a block can take)", () => {
    for (const [k, expected] of Object.entries(NONE_BLOCK_CHECKSUMS))
      expect({ k, checksum: hex(checksumBytes(noneBlockBody(Number(k)))) }).toEqual({
        k,
        checksum: expected,
      });
  });

  test("ClickHouse's LZ4 block: its checksum matches, and it decodes to the rows inserted", () => {
    const block = Buffer.from(CLICKHOUSE_LZ4_BLOCK, "hex");
    expect(hex(checksumBytes(block.subarray(16)))).toBe(hex(block.subarray(0, 16)));
    expect(block[16]).toBe(0x82);
    const data = decompress(block.subarray(25), block.readUInt32LE(21));
    expect(Buffer.from(data).toString()).toBe(CLICKHOUSE_LZ4_TEXT);
  });

  test("short inputs (no block is this short) take their own branches and give distinct values", () => {
    const seen = new Set<string>();
    for (let n = 0; n < 16; n++) seen.add(cityHash128(new Uint8Array(n).fill(7)).join(","));
    expect(seen.size).toBe(16);
  });
});

/** Text with repeats, binary noise and long runs: what answers look like, and the edge cases. */
function samples(): Uint8Array[] {
  const noise = new Uint8Array(70_000);
  for (let i = 0, x = 1; i < noise.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    noise[i] = x >>> 24;
  }
  const text = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `${i}\tname ${i % 97}\n`).join(""));
  return [
    new Uint8Array(0),
    Buffer.from("a"),
    Buffer.from("abcdabcdabcd1"),
    new Uint8Array(100_000).fill(0x41),
    noise,
    text,
  ];
}

describe("LZ4 block", () => {
  test("round-trips, and compresses what repeats", () => {
    for (const sample of samples()) {
      const packed = compress(sample);
      expect(hex(decompress(packed, sample.byteLength))).toBe(hex(sample));
    }
    const runs = samples()[3] as Uint8Array;
    expect(compress(runs).byteLength).toBeLessThan(runs.byteLength / 100);
  });

  // The lz4 command line tool (liblz4) as an independent decoder: our block inside an LZ4 frame.
  test.skipIf(!Bun.which("lz4"))("liblz4 decodes what it compresses", () => {
    for (const sample of samples().filter((s) => s.byteLength > 0)) {
      const packed = compress(sample);
      const descriptor = Uint8Array.of(0x60, 0x70); // version 1, independent blocks; 4 MiB blocks
      const headerChecksum = (Bun.hash.xxHash32(descriptor, 0) >>> 8) & 0xff;
      const size = Buffer.alloc(4);
      size.writeUInt32LE(packed.byteLength);
      const frame = Buffer.concat([
        Buffer.from([0x04, 0x22, 0x4d, 0x18]),
        descriptor,
        Buffer.from([headerChecksum]),
        size,
        packed,
        Buffer.alloc(4),
      ]);
      const run = Bun.spawnSync(["lz4", "-d", "-c"], { stdin: frame });
      expect(run.exitCode).toBe(0);
      expect(hex(run.stdout)).toBe(hex(sample));
    }
  });

  test("a malformed block is refused, never read past either buffer", () => {
    const packed = compress(Buffer.from("hello hello hello hello hello!"));
    expect(() => decompress(packed, 10)).toThrow(Lz4Error);
    expect(() => decompress(packed.subarray(0, packed.byteLength - 3), 29)).toThrow(Lz4Error);
    expect(() => decompress(Uint8Array.of(0x10, 0x61, 0x05, 0x00), 9)).toThrow("offset out of bounds");
    expect(() => decompress(Uint8Array.of(0x10, 0x61, 0x00, 0x00), 9)).toThrow("offset out of bounds");
    expect(() => decompress(Uint8Array.of(0xf0, 0xff), 300)).toThrow(Lz4Error);
  });
});

async function through(stream: TransformStream<Uint8Array, Uint8Array>, chunks: Uint8Array[]) {
  const source = new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk);
      c.close();
    },
  });
  return Buffer.from(await new Response(source.pipeThrough(stream)).arrayBuffer());
}

describe("the block framing", () => {
  test("answers are cut into blocks of at most 1 MiB that read back whole, split anywhere", async () => {
    const text = samples()[5] as Uint8Array;
    const big = Buffer.concat(Array.from({ length: 6 }, () => text)); // about 2.4 MB
    const framed = await through(compressingStream(), [big]);
    expect(framed.byteLength).toBeLessThan(big.byteLength);
    let blocks = 0;
    for (let at = 0; at < framed.byteLength; at += 16 + framed.readUInt32LE(at + 17)) {
      expect(framed.readUInt32LE(at + 21)).toBeLessThanOrEqual(BLOCK_BYTES);
      blocks++;
    }
    expect(blocks).toBe(Math.ceil(big.byteLength / BLOCK_BYTES));
    const pieces = [
      framed.subarray(0, 7),
      framed.subarray(7, 30),
      framed.subarray(30, 100_000),
      framed.subarray(100_000),
    ];
    expect(hex(await through(decompressingStream("test"), pieces))).toBe(hex(big));
  });

  test("data that does not shrink goes as method none", () => {
    const noise = samples()[4] as Uint8Array;
    expect(encodeBlock(noise)[16]).toBe(0x02);
    expect(encodeBlock(Buffer.from("aaaaaaaaaaaaaaaaaaaaaaaa"))[16]).toBe(0x82);
  });

  test("a changed byte, an unknown method and a cut body are refused with ClickHouse's codes", async () => {
    const block = Buffer.from(encodeBlock(Buffer.from("SELECT 1 SELECT 1 SELECT 1")));
    const codes: number[] = [];
    const attempt = async (bytes: Uint8Array) => {
      const faults: number[] = [];
      await through(
        decompressingStream("test", (ex) => faults.push(ex.code)),
        [bytes],
      ).catch(() => {});
      codes.push(...faults);
    };
    const flipped = Buffer.from(block);
    flipped[30] = (flipped[30] ?? 0) ^ 1;
    await attempt(flipped);
    const method = Buffer.from(block);
    method[16] = 0x05;
    await attempt(method);
    await attempt(block.subarray(0, block.byteLength - 1));
    expect(codes).toEqual([40, 89, 33]);
  });
});
