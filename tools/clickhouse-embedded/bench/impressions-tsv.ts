/**
 * `rows` impressions as PostgreSQL's `COPY (SELECT id, campaign_id, created_at, _version) TO
 * STDOUT` writes them: 500 campaigns, timestamps with microseconds spread over 7 days.
 */
export function impressionsTsv(rows: number): Buffer {
  const base = Date.UTC(2026, 10, 17);
  const spanMs = 7 * 24 * 3600 * 1000;
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  let lastSecond = -1;
  let secondText = "";
  const parts: Buffer[] = [];
  let lines: string[] = [];
  for (let id = 1; id <= rows; id++) {
    const ms = base + Math.floor((id * spanMs) / rows);
    const second = Math.floor(ms / 1000);
    if (second !== lastSecond) {
      const d = new Date(second * 1000);
      secondText = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
      lastSecond = second;
    }
    const micros = (ms % 1000) * 1000 + (id % 1000);
    lines.push(
      `${id}\t${(id % 500) + 1}\t${secondText}.${pad(micros, 6)}\t${id}\t${1000 + Math.floor(id / 25_000)}\n`,
    );
    if (lines.length === 100_000) {
      parts.push(Buffer.from(lines.join("")));
      lines = [];
    }
  }
  parts.push(Buffer.from(lines.join("")));
  return Buffer.concat(parts);
}
