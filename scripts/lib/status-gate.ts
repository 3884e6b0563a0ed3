/**
 * When `bun start` prints its status line: when the figures in it change (rows in PostgreSQL and
 * ClickHouse), or after `idleMs` without a line, so a quiet pipeline says it is alive without
 * repeating itself every few seconds. The lag part ("extractor 0.4 s behind") moves on every read
 * and is not a figure: it is printed with the line, never a reason for one.
 */
export function createStatusGate(idleMs: number, now: () => number = Date.now) {
  let lastFigures: string | null = null;
  let lastAt = Number.NEGATIVE_INFINITY;
  return {
    /** Whether to print `line` now; its figures are what comes before ` | `. */
    shouldPrint(line: string): boolean {
      const figures = line.split(" | ")[0] ?? line;
      const at = now();
      if (figures === lastFigures && at - lastAt < idleMs) return false;
      lastFigures = figures;
      lastAt = at;
      return true;
    },
  };
}
