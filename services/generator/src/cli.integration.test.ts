import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "@adpipe/shared/testing";
import pg from "pg";

const CLI = join(import.meta.dir, "cli.ts");
let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client.end();
  await db.drop();
});

async function gen(args: string[], stdin = "") {
  const proc = Bun.spawn(["bun", "run", CLI, ...args], {
    env: { ...process.env, DATABASE_URL: db.url },
    stdin: new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { stdout, stderr, code };
}

const count = async (table: string) =>
  (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n;

describe("generator CLI (the original tool's commands)", () => {
  test("batch writes advertisers, campaigns, impressions and int(n × ctr) clicks per campaign", async () => {
    const r = await gen([
      "batch",
      "--advertisers",
      "2",
      "--campaigns",
      "3",
      "--impressions",
      "25",
      "--ctr",
      "0.2",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Seeding complete!");
    expect(r.stdout).toContain("Created 2 advertisers with 6 campaigns total.");
    expect([
      await count("advertiser"),
      await count("campaign"),
      await count("impressions"),
      await count("clicks"),
    ]).toEqual([2, 6, 150, 30]);
  });

  test("advertisers, campaigns, impressions, clicks one by one", async () => {
    const adv = await gen(["advertisers", "--count", "3"]);
    expect(adv.code).toBe(0);
    const ids =
      adv.stdout
        .match(/IDs: \[(.*)\]/)?.[1]
        ?.split(", ")
        .map(Number) ?? [];
    expect(ids).toHaveLength(3);
    const camp = await gen(["campaigns", "--advertiser-id", String(ids[0]), "--count", "2"]);
    expect(camp.code).toBe(0);
    const campaignId = Number(camp.stdout.match(/IDs: \[(\d+)/)?.[1]);
    expect(camp.stdout).toContain(`Created 2 campaigns for advertiser #${ids[0]}`);
    const imps = await gen(["impressions", "--campaign-id", String(campaignId), "--count", "40"]);
    expect(imps.stdout).toContain(`Created 40 impressions for campaign #${campaignId}`);
    const clicks = await gen(["clicks", "--campaign-id", String(campaignId), "--ratio", "0.25"]);
    expect(clicks.code).toBe(0);
    const { rows } = await client.query("SELECT count(*)::int AS n FROM clicks WHERE campaign_id = $1", [
      campaignId,
    ]);
    expect(rows[0].n).toBe(10);
  });

  test("stats prints the original figures and table", async () => {
    const r = await gen(["stats"]);
    expect(r.code).toBe(0);
    const impressions = await count("impressions");
    const clicks = await count("clicks");
    expect(r.stdout).toContain("=== Database Statistics ===");
    expect(r.stdout).toContain(`Impressions: ${impressions}`);
    expect(r.stdout).toContain(`Clicks: ${clicks}`);
    expect(r.stdout).toContain(`Overall CTR: ${(((clicks ?? 0) / (impressions ?? 1)) * 100).toFixed(2)}%`);
    expect(r.stdout).toMatch(/ID {4}Name {17}Advertiser {6}Impressions {2}Clicks {3}CTR/);
    expect(r.stdout).toMatch(/\n1 +Campaign_1_1 +Advertiser A +25 +5 +20\.00%/);
  });

  test("unknown ids and bad flags fail clearly and write nothing", async () => {
    const before = await count("impressions");
    const missing = await gen(["impressions", "--campaign-id", "999999", "--count", "5"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("campaign 999999 not found");
    const negative = await gen(["impressions", "--campaign-id", "1", "--count", "-5"]);
    expect(negative.code).toBe(2);
    expect(negative.stderr).toContain("--count: must be at least 1");
    const absurd = await gen(["batch", "--impressions", "999999999"]);
    expect(absurd.code).toBe(2);
    expect(absurd.stderr).toContain("--impressions: must be at most 50,000,000");
    const unknown = await gen(["clicks", "--campaign", "1"]);
    expect(unknown.stderr).toContain("unknown flag --campaign");
    expect(await count("impressions")).toBe(before);
  });

  test("clicks on a campaign without impressions says so", async () => {
    const camp = await gen(["campaigns", "--advertiser-id", "1", "--count", "1"]);
    const id = camp.stdout.match(/IDs: \[(\d+)/)?.[1];
    const r = await gen(["clicks", "--campaign-id", String(id)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no impressions found for campaign ${id}`);
  });

  test("reset asks for yes, and --yes skips the question", async () => {
    const declined = await gen(["reset"], "no\n");
    expect(declined.stdout).toContain("Operation cancelled.");
    expect(await count("campaign")).toBeGreaterThan(0);
    const confirmed = await gen(["reset"], "yes\n");
    expect(confirmed.code).toBe(0);
    expect(await count("campaign")).toBe(0);
    await gen(["advertisers", "--count", "1"]);
    const scripted = await gen(["reset", "--yes"]);
    expect(scripted.stdout).toContain("All data has been deleted.");
    expect(await count("advertiser")).toBe(0);
  });
});
