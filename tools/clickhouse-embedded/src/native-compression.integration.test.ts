import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import zlib from "node:zlib";
import { checksumBytes } from "./cityhash128.ts";
import { decompress } from "./lz4-block.ts";
import { encodeBlock } from "./native-compression.ts";
import { startTestClickHouse, type TestClickHouse } from "./testing.ts";

/** ClickHouse's own compressed framing over HTTP: `compress=1` answers, `decompress=1` bodies. */
let ch: TestClickHouse;
let auth: string;
beforeAll(async () => {
  ch = await startTestClickHouse();
  auth = `Basic ${Buffer.from(`${ch.user}:${ch.password}`).toString("base64")}`;
  await ch.client.command({ query: "CREATE TABLE bytes (c UInt8) ENGINE = Memory" });
  await ch.client.command({ query: "CREATE TABLE texts (s String) ENGINE = Memory" });
});
afterAll(() => ch.stop());

function post(
  body: string | Uint8Array | null,
  params: Record<string, string> = {},
  headers: Record<string, string> = {},
) {
  const url = new URL(ch.url);
  url.searchParams.set("database", ch.database);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return fetch(url, {
    method: "POST",
    body,
    headers: { Authorization: auth, ...headers },
    decompress: false,
  });
}

const sql = async (query: string) => (await (await post(query)).text()).trim();

interface Block {
  method: number;
  data: Uint8Array;
}

/** The test's own reading of the framing: every checksum checked, every block decoded. */
function readBlocks(framed: Buffer): Block[] {
  const blocks: Block[] = [];
  for (let at = 0; at < framed.byteLength; ) {
    const size = framed.readUInt32LE(at + 17);
    const body = framed.subarray(at + 16, at + 16 + size);
    expect(Buffer.from(checksumBytes(body)).equals(framed.subarray(at, at + 16))).toBe(true);
    const method = body[0] ?? 0;
    const decompressed = body.readUInt32LE(5);
    const data = method === 0x82 ? decompress(body.subarray(9), decompressed) : body.subarray(9);
    expect(data.byteLength).toBe(decompressed);
    blocks.push({ method, data });
    at += 16 + size;
  }
  return blocks;
}

/** The blocks ClickHouse wrote into a column file of the table's only part. */
async function partFile(table: string, file: string): Promise<Buffer> {
  const path = await sql(
    `SELECT path FROM system.parts WHERE database = currentDatabase() AND table = '${table}' AND active`,
  );
  expect(path.startsWith(ch.dataDir)).toBe(true);
  return readFileSync(join(path, file));
}

describe("compress=1", () => {
  test("an answer comes in checksummed LZ4 blocks of at most 1 MiB that decode to the plain answer", async () => {
    const query = "SELECT number, toString(number * 3) FROM numbers(300000) FORMAT TSV";
    const plain = Buffer.from(await (await post(query)).arrayBuffer());
    const r = await post(query, { compress: "1" });
    expect(r.status).toBe(200);
    const framed = Buffer.from(await r.arrayBuffer());
    expect(framed.byteLength).toBeLessThan(plain.byteLength * 0.7);
    const blocks = readBlocks(framed);
    expect(blocks.length).toBeGreaterThan(1);
    expect(blocks.every((b) => b.method === 0x82 && b.data.byteLength <= 1 << 20)).toBe(true);
    expect(Buffer.concat(blocks.map((b) => b.data)).equals(plain)).toBe(true);
  });

  test("whole-document formats, an empty answer, and HTTP compression around the framing", async () => {
    const json = await post("SELECT 1 AS x FORMAT JSON", { compress: "1" });
    const doc = JSON.parse(
      Buffer.concat(readBlocks(Buffer.from(await json.arrayBuffer())).map((b) => b.data)).toString(),
    );
    expect(doc.data).toEqual([{ x: 1 }]);
    const empty = await post("SELECT 1 WHERE 0", { compress: "1" });
    expect((await empty.arrayBuffer()).byteLength).toBe(0);
    const gzipped = await post(
      "SELECT 'abc' FORMAT TSV",
      { compress: "1", enable_http_compression: "1" },
      { "Accept-Encoding": "gzip" },
    );
    expect(gzipped.headers.get("content-encoding")).toBe("gzip");
    const inner = zlib.gunzipSync(Buffer.from(await gzipped.arrayBuffer()));
    expect(Buffer.concat(readBlocks(inner).map((b) => b.data)).toString()).toBe("abc\n");
  });

  test("an error before any output is plain text, as a server writes it", async () => {
    const r = await post("SELEC 1", { compress: "1" });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain("SYNTAX_ERROR");
  });
});

describe("decompress=1", () => {
  // Lengths 11 to 1009 bytes: the hash's branches at 16 and 128 bytes, and its 32-byte tails.
  const sizes = [
    ...Array.from({ length: 15 }, (_, i) => i + 2),
    ...Array.from({ length: 41 }, (_, i) => i + 100),
    300,
    1000,
  ];
  test("blocks ClickHouse wrote (method none, k bytes) check and insert as the k values", async () => {
    await ch.client.command({
      query:
        "CREATE TABLE written (c UInt8 CODEC(NONE)) ENGINE = MergeTree ORDER BY tuple() SETTINGS min_bytes_for_wide_part = 0, min_rows_for_wide_part = 0",
    });
    for (const k of sizes) {
      await ch.client.command({ query: "TRUNCATE TABLE written" });
      await ch.client.command({
        query: `INSERT INTO written SELECT (number * 7919) % 251 FROM numbers(${k})`,
      });
      const file = await partFile("written", "c.bin");
      expect({ k, size: file.byteLength }).toEqual({ k, size: 25 + k });
      expect(Buffer.from(checksumBytes(file.subarray(16))).equals(file.subarray(0, 16))).toBe(true);
      await ch.client.command({ query: "TRUNCATE TABLE bytes" });
      const r = await post(file, { query: "INSERT INTO bytes FORMAT RowBinary", decompress: "1" });
      expect({ k, status: r.status }).toEqual({ k, status: 200 });
      expect(await sql("SELECT count(), sum(c) FROM bytes")).toBe(
        await sql(`SELECT ${k}, sum((number * 7919) % 251) FROM numbers(${k})`),
      );
    }
  }, 60_000);

  test("an LZ4 block ClickHouse compressed is read; SQL in the body may be framed too", async () => {
    await ch.client.command({
      query:
        "CREATE TABLE lz (s String CODEC(LZ4)) ENGINE = MergeTree ORDER BY tuple() SETTINGS min_bytes_for_wide_part = 0, min_rows_for_wide_part = 0",
    });
    await ch.client.command({
      query:
        "INSERT INTO lz SELECT concat('row ', toString(number), ' ', repeat('ab', number % 5)) FROM numbers(2000)",
    });
    const file = await partFile("lz", "s.bin");
    expect(file[16]).toBe(0x82);
    const r = await post(file, { query: "INSERT INTO texts FORMAT RawBLOB", decompress: "1" });
    expect(r.status).toBe(200);
    expect(await sql("SELECT s = (SELECT arrayStringConcat(groupArray(s)) FROM lz) FROM texts")).toBe("1");
    const q = await post(encodeBlock(Buffer.from("SELECT 40 + 2")), { decompress: "1" });
    expect(await q.text()).toBe("42\n");
  });

  test("a bad checksum is CHECKSUM_DOESNT_MATCH (40) and inserts nothing; a body not in blocks is 33", async () => {
    await ch.client.command({ query: "TRUNCATE TABLE bytes" });
    const good = encodeBlock(Buffer.from("1\n2\n3\n"));
    const bad = Buffer.from(good);
    bad[3] = (bad[3] ?? 0) ^ 0xff;
    const r = await post(Buffer.concat([good, bad]), {
      query: "INSERT INTO bytes FORMAT TSV",
      decompress: "1",
    });
    expect(r.status).toBe(500);
    expect(r.headers.get("x-clickhouse-exception-code")).toBe("40");
    const text = await r.text();
    expect(text).toContain("Checksum doesn't match");
    expect(text).toContain("(CHECKSUM_DOESNT_MATCH)");
    expect(text.match(/Code: 40/g)?.length).toBe(1);
    expect(await sql("SELECT count() FROM bytes")).toBe("0");
    const unframed = await post("SELECT 1", { decompress: "1" });
    expect(unframed.status).toBe(400);
    expect(unframed.headers.get("x-clickhouse-exception-code")).toBe("33");
  });
});
