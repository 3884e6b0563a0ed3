/** A number as text: never a formula, so it keeps its sign (`-1.5` stays a number in a sheet). */
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * OWASP's rule against CSV injection: a text cell that starts with `=`, `+`, `-`, `@`, a tab or
 * a carriage return is a formula to Excel, LibreOffice and Sheets (`=HYPERLINK(...)` in a
 * campaign name would run when the export is opened), so it gets a leading `'`, which a
 * spreadsheet shows as text. Numbers, including negative ones, stay as they are.
 */
export function neutraliseFormula(s: string): string {
  return /^[=+\-@\t\r]/.test(s) && !NUMBER.test(s) ? `'${s}` : s;
}

/**
 * Pure: rows as RFC 4180 CSV with a header line (columns of the first row; nulls empty), every
 * text cell neutralised against formula injection.
 */
export function toCsv(rows: Record<string, unknown>[], columns = Object.keys(rows[0] ?? {})): string {
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return "";
    const s = typeof v === "number" || typeof v === "bigint" ? String(v) : neutraliseFormula(String(v));
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = [columns.map(cell).join(",")];
  for (const row of rows) lines.push(columns.map((c) => cell(row[c])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
