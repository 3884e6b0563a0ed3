// `bun run compose:env`: writes `.env` for docker compose from `.env.example`, every password and
// the API token replaced by a random one, owner-only (0600). It never overwrites an existing file
// (`--force` does); `--out <file>` writes elsewhere.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { composeEnv } from "./lib/compose-env.ts";

const root = join(import.meta.dir, "..");
const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const out = outIndex >= 0 && args[outIndex + 1] ? resolve(args[outIndex + 1] as string) : join(root, ".env");
if (existsSync(out) && !args.includes("--force")) {
  console.error(`${out} exists: kept as it is (--force replaces it, and every secret in it)`);
  process.exit(1);
}
const { text, secrets } = composeEnv(readFileSync(join(root, ".env.example"), "utf8"));
writeFileSync(out, text, { mode: 0o600 });
chmodSync(out, 0o600);
console.log(`wrote ${out} (0600) with ${secrets.length} random secrets: ${secrets.join(", ")}`);
