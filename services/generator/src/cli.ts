import { createInterface } from "node:readline/promises";
import { parseConfig, settings } from "@adpipe/shared/config";
import { AppError } from "@adpipe/shared/errors";
import { runMain } from "@adpipe/shared/main";
import { migrateOltp } from "@adpipe/shared/migrate";
import { createPool, type Pool } from "@adpipe/shared/pg";
import { z } from "zod";
import { advertisersInput, batchInput, campaignsInput, clicksInput, impressionsInput } from "./inputs.ts";
import { createOperations, type Operations } from "./operations.ts";
import { formatStats, readStats } from "./stats.ts";

const USAGE = `usage: bun run gen <command> [flags]

commands (the original tool's):
  batch --advertisers N --campaigns N --impressions N --ctr F   generate a batch of test data
  advertisers --count N                                          create advertisers
  campaigns --advertiser-id ID --count N                         create campaigns
  impressions --campaign-id ID --count N                         create impressions
  clicks --campaign-id ID --ratio F                              create clicks for sampled impressions
  stats                                                          show database statistics
  reset [--yes]                                                  delete all data (asks to type yes)

DATABASE_URL names the database (default postgres://postgres@127.0.0.1:5432/adpipe).`;

/** A mistake in how the command was called: printed with the usage, exit code 2. */
class UsageError extends Error {}

/** `--campaign-id 3 --yes` → { campaign_id: "3", yes: "true" }. */
export function parseFlags(args: string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument: ${arg}`);
    const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    const key = name.replaceAll("-", "_");
    const next = args[i + 1];
    if (inline !== undefined) flags[key] = inline;
    else if (next !== undefined && !next.startsWith("--")) {
      flags[key] = next;
      i++;
    } else flags[key] = "true";
  }
  return flags;
}

const noFlags = z.object({});

const flagName = (field: string) => `--${field.replaceAll("_", "-")}`;

function parse<T extends z.ZodType>(schema: T, flags: Record<string, string>, allowed: string[]): z.infer<T> {
  for (const key of Object.keys(flags)) {
    if (!allowed.includes(key)) throw new UsageError(`unknown flag ${flagName(key)}`);
  }
  // Flags are text; plain decimals become numbers, anything else stays text for the schema to refuse.
  const values = Object.fromEntries(
    Object.entries(flags).map(([k, v]) => [k, /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v]),
  );
  const result = schema.safeParse(values);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new UsageError(`${flagName(String(issue?.path[0] ?? "?"))}: ${issue?.message}`);
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(question).catch(() => "");
    return answer.trim().toLowerCase() === "yes";
  } finally {
    rl.close();
  }
}

export async function main(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "help") {
    out(USAGE);
    return command ? 0 : 1;
  }
  const config = parseConfig({ DATABASE_URL: settings.DATABASE_URL });
  const pool = createPool({ connectionString: config.DATABASE_URL, max: 2, applicationName: "adpipe-gen" });
  const ops = createOperations(pool);
  try {
    const flags = parseFlags(rest);
    await migrateOltp(config.DATABASE_URL);
    return await runCommand(command, flags, pool, ops, out);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    if (err instanceof AppError && err.status < 500) {
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await pool.end();
  }
}

/** One command on a migrated database: its exit code (a bad flag or command throws UsageError). */
async function runCommand(
  command: string,
  flags: Record<string, string>,
  pool: Pool,
  ops: Operations,
  out: (line: string) => void,
): Promise<number> {
  switch (command) {
    case "advertisers": {
      const { count } = parse(advertisersInput, flags, ["count"]);
      const ids = await ops.advertisers(count);
      out(`Created ${ids.length} advertisers. IDs: [${ids.join(", ")}]`);
      break;
    }
    case "campaigns": {
      const input = parse(campaignsInput, flags, ["advertiser_id", "count"]);
      const ids = await ops.campaigns(input.advertiser_id, input.count);
      out(`Created ${ids.length} campaigns for advertiser #${input.advertiser_id}. IDs: [${ids.join(", ")}]`);
      break;
    }
    case "impressions": {
      const input = parse(impressionsInput, flags, ["campaign_id", "count"]);
      const n = await ops.impressions(input.campaign_id, input.count);
      out(`Created ${n} impressions for campaign #${input.campaign_id}`);
      break;
    }
    case "clicks": {
      const input = parse(clicksInput, flags, ["campaign_id", "ratio"]);
      const n = await ops.clicks(input.campaign_id, input.ratio);
      out(
        `Created ${n} clicks for campaign #${input.campaign_id} with ${(input.ratio * 100).toFixed(1)}% CTR`,
      );
      break;
    }
    case "batch": {
      const input = parse(batchInput, flags, ["advertisers", "campaigns", "impressions", "ctr"]);
      out(`Creating ${input.advertisers} advertisers...`);
      out(`Creating ${input.campaigns} campaigns per advertiser...`);
      out(`Creating ~${input.impressions} impressions per campaign...`);
      out(`Creating clicks with approximately ${(input.ctr * 100).toFixed(1)}% CTR...`);
      const r = await ops.batch(input);
      out("Seeding complete!");
      out(`Created ${r.advertiserIds.length} advertisers with ${r.campaignIds.length} campaigns total.`);
      out(
        `Generated ${r.impressions} impressions and ${r.clicks} clicks in ${(r.durationMs / 1000).toFixed(2)} s.`,
      );
      break;
    }
    case "stats":
      parse(noFlags, flags, []);
      out(formatStats(await readStats(pool)));
      break;
    case "reset": {
      parse(noFlags, flags, ["yes"]);
      const sure =
        flags.yes === "true" || (await confirm("This will DELETE ALL DATA. Type 'yes' to confirm: "));
      if (!sure) {
        out("Operation cancelled.");
        return 1;
      }
      await ops.reset();
      out("All data has been deleted.");
      break;
    }
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
  return 0;
}

if (import.meta.main) {
  runMain(async () => {
    process.exitCode = await main(process.argv.slice(2));
  });
}
