/**
 * Whether a ClickHouse column can take a PostgreSQL column's values as they are now
 * (docs/schema-changes.md, "Type changes"): the loader asks before each insert whose columns it
 * has not checked yet.
 */

/** `same` or `holds`: insert as it is; `widen`: MODIFY COLUMN to the wanted type first; `unsafe`: stop the table. */
export type Compatibility = "same" | "holds" | "widen" | "unsafe";

interface Parsed {
  nullable: boolean;
  base: string;
}

function parse(type: string): Parsed {
  let t = type.replace(/\s+/g, " ").trim();
  let nullable = false;
  for (;;) {
    const inner = /^(Nullable|LowCardinality)\((.*)\)$/.exec(t);
    if (!inner) break;
    if (inner[1] === "Nullable") nullable = true;
    t = inner[2] as string;
  }
  return { nullable, base: t.replace(/, /g, ",") };
}

const INT_BITS = (base: string) => Number(/^Int(8|16|32|64|128|256)$/.exec(base)?.[1] ?? 0);
const FLOAT_BITS = (base: string) => Number(/^Float(32|64)$/.exec(base)?.[1] ?? 0);
const DECIMAL = (base: string) => {
  const m = /^Decimal\((\d+),(\d+)\)$/.exec(base);
  return m ? { p: Number(m[1]), s: Number(m[2]) } : undefined;
};

/** How the base type `have` relates to the base type `want` (nullability aside). */
function baseCompatibility(have: string, want: string): Compatibility {
  if (have === want) return "same";
  const [hi, wi] = [INT_BITS(have), INT_BITS(want)];
  if (hi && wi) return hi >= wi ? "holds" : "widen";
  const [hf, wf] = [FLOAT_BITS(have), FLOAT_BITS(want)];
  if (hf && wf) return hf >= wf ? "holds" : "widen";
  const [hd, wd] = [DECIMAL(have), DECIMAL(want)];
  if (hd && wd && hd.s === wd.s) return hd.p >= wd.p ? "holds" : "widen";
  // PostgreSQL's text of any other type reads back the same from a String (a bool's 't' does not).
  if (have === "String" && want !== "Bool") return "holds";
  return "unsafe";
}

/**
 * What the ClickHouse column of type `have` needs to take values of type `want` (olapType's
 * answer for the PostgreSQL column). `widen` is offered only for `column`s outside the sort key
 * (ClickHouse refuses to change a key column's type): adpipe's tables sort by `id`.
 */
export function compatibility(have: string, want: string, column: string): Compatibility {
  const h = parse(have);
  const w = parse(want);
  const base = baseCompatibility(h.base, w.base);
  const nulls: Compatibility = h.nullable || !w.nullable ? "same" : "widen";
  const worst = [base, nulls].includes("unsafe")
    ? "unsafe"
    : [base, nulls].includes("widen")
      ? "widen"
      : base === "holds" || (nulls === "same" && h.nullable !== w.nullable)
        ? "holds"
        : "same";
  if (worst === "widen" && column === "id") return "unsafe";
  return worst;
}

/** The type a widened column becomes: the wanted base, Nullable if either side is. */
export function widenedType(have: string, want: string): string {
  const h = parse(have);
  const w = parse(want);
  const base = baseCompatibility(h.base, w.base) === "widen" ? w.base : h.base;
  const pretty = base.replace(/,(?=\S)/g, ", ");
  return h.nullable || w.nullable ? `Nullable(${pretty})` : pretty;
}
