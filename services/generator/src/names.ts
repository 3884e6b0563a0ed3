/** 1 → A, 26 → Z, 27 → AA: the original's `Advertiser A, B, ...`, continued past Z. */
export function letters(n: number): string {
  let out = "";
  for (let rest = n; rest > 0; rest = Math.floor((rest - 1) / 26)) {
    out = String.fromCharCode(65 + ((rest - 1) % 26)) + out;
  }
  return out;
}

/** Names for one `advertisers --count N` call, numbered from A within the call as the original did. */
export const advertiserNames = (count: number) =>
  Array.from({ length: count }, (_, i) => `Advertiser ${letters(i + 1)}`);
