/**
 * Output formats as the HTTP layer must treat them. chDB's `queryStream` formats every chunk as a
 * document of its own: a header row per chunk for `CSVWithNames`, a new `meta` for `JSON`, a whole
 * Parquet file per chunk. So only formats whose chunks concatenate into the server's output
 * stream; a header repeated per chunk is cut off after the first (`header`); every other format
 * is produced in one piece by the engine (`document`), exact but held in memory.
 */
export type OutputShape =
  | { kind: "rows" }
  /** A text header of `lines` lines before the rows (`...WithNames`: 1, `...WithNamesAndTypes`: 2). */
  | { kind: "header"; lines: number }
  /** RowBinary's header: a count, the names and, with types, the type names. */
  | { kind: "rowbinary-header"; types: boolean }
  | { kind: "document" };

const ROWS = new Set(
  [
    "TabSeparated",
    "TSV",
    "TabSeparatedRaw",
    "TSVRaw",
    "Raw",
    "CSV",
    "JSONEachRow",
    "JSONLines",
    "NDJSON",
    "JSONStringsEachRow",
    "JSONCompactEachRow",
    "JSONCompactStringsEachRow",
    "RowBinary",
    "Native",
    "LineAsString",
    "RawBLOB",
    "Null",
  ].map((f) => f.toLowerCase()),
);

const TEXT_WITH_HEADER =
  /^(TabSeparated|TSV|TabSeparatedRaw|TSVRaw|Raw|CSV|JSONCompactEachRow|JSONCompactStringsEachRow|CustomSeparated)(WithNames|WithNamesAndTypes)$/i;

export function outputShape(format: string): OutputShape {
  const f = format.toLowerCase();
  if (ROWS.has(f)) return { kind: "rows" };
  const text = TEXT_WITH_HEADER.exec(format);
  if (text) return { kind: "header", lines: /AndTypes$/i.test(format) ? 2 : 1 };
  if (f === "rowbinarywithnames") return { kind: "rowbinary-header", types: false };
  if (f === "rowbinarywithnamesandtypes") return { kind: "rowbinary-header", types: true };
  return { kind: "document" };
}

/** The Content-Type clickhouse-server sends for an output format. */
export function contentType(format: string): string {
  const f = format.toLowerCase();
  if (f === "jsonobjecteachrow") return "application/json; charset=UTF-8";
  if (f.startsWith("json") && f.includes("eachrow")) return "application/x-ndjson; charset=UTF-8";
  if (f === "jsonlines" || f === "ndjson" || f === "prettyjsoneachrow" || f === "prettyjsonlines")
    return "application/x-ndjson; charset=UTF-8";
  if (f.startsWith("json")) return "application/json; charset=UTF-8";
  if (f.startsWith("tabseparated") || f.startsWith("tsv")) return "text/tab-separated-values; charset=UTF-8";
  if (f.startsWith("csv"))
    return `text/csv; charset=UTF-8; header=${f.includes("withnames") ? "present" : "absent"}`;
  if (f === "xml") return "application/xml; charset=UTF-8";
  if (f === "markdown" || f === "md") return "text/markdown; charset=UTF-8";
  if (
    [
      "native",
      "rowbinary",
      "parquet",
      "arrow",
      "orc",
      "avro",
      "capnproto",
      "protobuf",
      "msgpack",
      "bson",
      "npy",
    ].some((b) => f.startsWith(b))
  )
    return "application/octet-stream";
  return "text/plain; charset=UTF-8";
}

/** Where the first `lines` lines end in `chunk`, or -1 if it holds fewer. */
function endOfLines(chunk: Uint8Array, lines: number): number {
  let at = 0;
  for (let i = 0; i < lines; i++) {
    const nl = chunk.indexOf(10, at);
    if (nl < 0) return -1;
    at = nl + 1;
  }
  return at;
}

/** Reads a LEB128 varint at `at`: [value, next offset], or undefined past the end. */
function varint(b: Uint8Array, at: number): [number, number] | undefined {
  let value = 0;
  let shift = 0;
  for (let i = at; i < b.length; i++) {
    const byte = b[i] as number;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, i + 1];
    shift += 7;
  }
  return undefined;
}

function rowBinaryHeaderEnd(chunk: Uint8Array, types: boolean): number {
  const count = varint(chunk, 0);
  if (!count) return -1;
  let at = count[1];
  for (let i = 0; i < count[0] * (types ? 2 : 1); i++) {
    const len = varint(chunk, at);
    if (!len) return -1;
    at = len[1] + len[0];
    if (at > chunk.length) return -1;
  }
  return at;
}

/**
 * For a format whose every chunk starts with the same header: the first chunk as it is, later
 * ones without the header. A chunk that does not start with the first one's header is passed on
 * whole (never cut wrongly).
 */
export function headerStripper(shape: OutputShape): (chunk: Uint8Array) => Uint8Array {
  if (shape.kind !== "header" && shape.kind !== "rowbinary-header") return (c) => c;
  let header: Uint8Array | undefined;
  return (chunk) => {
    if (!header) {
      const end =
        shape.kind === "header" ? endOfLines(chunk, shape.lines) : rowBinaryHeaderEnd(chunk, shape.types);
      if (end > 0) header = chunk.slice(0, end);
      return chunk;
    }
    if (chunk.length < header.length) return chunk;
    for (let i = 0; i < header.length; i++) if (chunk[i] !== header[i]) return chunk;
    return chunk.subarray(header.length);
  };
}
