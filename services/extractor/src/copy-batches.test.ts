import { describe, expect, test } from "bun:test";
import { RowTooLargeError, splitRows } from "./copy-batches.ts";

const encoder = new TextEncoder();

async function* chunked(bytes: Uint8Array, sizes: () => number) {
  for (let offset = 0; offset < bytes.length; ) {
    const size = Math.max(1, sizes());
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

async function collect(source: AsyncIterable<Uint8Array>, maxBytes: number, maxRows: number) {
  const batches = [];
  for await (const batch of splitRows(source, { maxBytes, maxRows })) batches.push(batch);
  return batches;
}

// A deterministic generator so a failure reproduces.
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

describe("splitRows", () => {
  test("cuts at row boundaries when rows straddle chunks, within byte and row limits", async () => {
    const rand = random(42);
    const lines = Array.from(
      { length: 5000 },
      (_, i) => `${i}\t${"x".repeat(Math.floor(rand() * 200))}\t\\N\n`,
    );
    const input = encoder.encode(lines.join(""));
    for (const [maxBytes, maxRows] of [
      [1024, 1_000_000],
      [4096, 7],
      [300, 1],
      [1 << 20, 1000],
    ] as const) {
      const batches = await collect(
        chunked(input, () => Math.floor(rand() * 700)),
        maxBytes,
        maxRows,
      );
      const text = batches.map((b) => new TextDecoder().decode(b.body));
      expect(text.join("")).toBe(lines.join(""));
      expect(batches.reduce((n, b) => n + b.rows, 0)).toBe(lines.length);
      for (const [i, batch] of batches.entries()) {
        expect(batch.body.length).toBeLessThanOrEqual(maxBytes);
        expect(batch.rows).toBeLessThanOrEqual(maxRows);
        expect(batch.rows).toBe((text[i] ?? "").split("\n").length - 1);
        expect(batch.body.at(-1)).toBe(10);
      }
    }
  });

  test("a chunk ending exactly at a row end and an empty source", async () => {
    const input = encoder.encode("a\nb\nc\n");
    const batches = await collect(
      chunked(input, () => 2),
      4,
      100,
    );
    expect(batches.map((b) => new TextDecoder().decode(b.body))).toEqual(["a\nb\n", "c\n"]);
    expect(
      await collect(
        chunked(new Uint8Array(0), () => 1),
        4,
        100,
      ),
    ).toEqual([]);
  });

  test("a row larger than the byte limit and output ending inside a row are errors", async () => {
    await expect(
      collect(
        chunked(encoder.encode("ok\ntoo long a row\n"), () => 3),
        8,
        100,
      ),
    ).rejects.toThrow(RowTooLargeError);
    await expect(
      collect(
        chunked(encoder.encode("a\nb"), () => 3),
        8,
        100,
      ),
    ).rejects.toThrow(/inside a row/);
  });
});
