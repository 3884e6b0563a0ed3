// The dashboard in a real browser (Debian's Chromium through playwright-core) against a whole
// pipeline run by `bun start`: every service shows up and ready, the charts have data, a KPI on
// the page equals the API's, "Generate batch" makes the counts rise, and the page logs no error.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { chromium, type Page } from "playwright-core";
import {
  type Cleanups,
  root,
  runCleanups,
  runStart,
  startEnvOnMachine,
  stopAndRemove,
  waitFor,
} from "./start-process.ts";

const CHROMIUM = "/usr/bin/chromium";
const screenshot = join(root, "test-output", "dashboard.png");
const cleanups: Cleanups = [];

afterAll(async () => {
  await runCleanups(cleanups);
});

interface Described {
  labels: unknown[];
  datasets: { label: string; data: number[] }[];
  scales: Record<string, { ticks: number[]; labels: string[]; title: string | null }>;
  annotations: { type: string; value: number | null; label: string | null }[];
}

/** Ticks a reader can add up: equal steps of 1, 2, 2.5 or 5 × a power of ten, from 0. */
function expectRoundSteps(ticks: number[]) {
  expect(ticks.length).toBeGreaterThan(1);
  const step = (ticks[1] as number) - (ticks[0] as number);
  const mantissa = step / 10 ** Math.floor(Math.log10(step));
  expect([1, 2, 2.5, 5].some((m) => Math.abs(m - mantissa) < 1e-9)).toBe(true);
  ticks.forEach((t, i) => {
    expect(Math.abs(t - (ticks[0] as number) - i * step)).toBeLessThan(step * 1e-9);
  });
}

const text = async (page: Page, testid: string) => (await page.getByTestId(testid).textContent()) ?? "";
const count = async (page: Page, testid: string) => Number((await text(page, testid)).replace(/[^\d]/g, ""));

test("the dashboard shows a running pipeline, its KPIs, and drives the generator", async () => {
  // A missing browser is a failure to fix (`apt-get install chromium`, as .ci/run does), not a skip.
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);

  const { home, env } = await startEnvOnMachine("dash", cleanups);
  // NATS as a fresh clone gets it: bun start's own nats-server with a user per service, so the
  // page's live updates go through the reporter's real permissions (the machine's has none).
  delete env.NATS_URL;
  const run = runStart(home, env);
  cleanups.push(() => stopAndRemove(run));
  const reporter = `http://127.0.0.1:${env.REPORTER_PORT}`;
  const generator = `http://127.0.0.1:${env.GENERATOR_PORT}`;

  // A campaign with impressions in the reports (whichever: ids keep counting in a reused database).
  const campaignId = await waitFor(
    "a campaign with impressions in the reporter's KPIs",
    60_000,
    async () => {
      const res = await fetch(`${reporter}/kpis/campaigns`).catch(() => null);
      if (!res?.ok) return undefined;
      const rows = (await res.json()) as { campaign_id: number; impressions: number }[];
      return rows.find((r) => r.impressions > 0)?.campaign_id;
    },
    run.output,
  );
  // The simulation would move every number while the test compares them: only the test's own
  // click changes the data from here on.
  const token = readFileSync(join(home, "api-token"), "utf8").trim();
  expect(
    (
      await fetch(`${generator}/simulate/stop`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      })
    ).ok,
  ).toBe(true);

  const userDataDir = mkdtempSync(join(tmpdir(), "adpipe-chromium-"));
  cleanups.push(async () => rmSync(userDataDir, { recursive: true, force: true }));
  const browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  cleanups.push(() => browser.close());
  const page = browser.pages()[0] ?? (await browser.newPage());
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));

  await page.goto(`${reporter}/`);

  for (const name of ["generator", "extractor", "loader", "reporter"]) {
    const service = page.getByTestId(`service-${name}`);
    await service.and(page.locator('[data-up="true"][data-ready="true"]')).waitFor({ timeout: 20_000 });
    expect(await service.textContent()).toContain("ready");
  }

  // The charts are Chart.js canvases: what each shows is read through adpipeCharts.describe.
  const chart = async (id: string) =>
    (await page.evaluate(
      `adpipeCharts.describe(document.getElementById(${JSON.stringify(id)}))`,
    )) as Described | null;
  await waitFor("the CTR chart's bars", 20_000, async () =>
    (await chart("chart-ctr"))?.labels.length ? true : undefined,
  );
  const ctr = (await chart("chart-ctr")) as Described;
  // Every campaign by name and id; round ticks (a step of 1, 2, 2.5 or 5 × 10^n), as percentages.
  expect(ctr.labels.every((l) => /^.+ #\d+$/.test(String(l)))).toBe(true);
  expectRoundSteps(ctr.scales.x?.ticks ?? []);
  expect(ctr.scales.x?.labels.every((l) => /^\d+(\.\d+)? %$/.test(String(l)))).toBe(true);
  // The daily chart comes from a second request, after the bars: wait for it on its own.
  await waitFor("the daily chart", 20_000, async () =>
    (await chart("chart-daily"))?.labels.length ? true : undefined,
  );
  const daily = (await chart("chart-daily")) as Described;
  expect(daily.datasets.map((d) => d.label)).toEqual(["impressions (left scale)", "clicks (right scale)"]);
  expect([daily.scales.y?.title, daily.scales.y1?.title, daily.scales.x?.title]).toEqual([
    "impressions",
    "clicks",
    "day (UTC)",
  ]);
  // A real time axis: one slot per calendar day, rising; today (the simulation's traffic arrives
  // now) marked as a partial day.
  const days = (await page.getByTestId("chart-daily").getAttribute("data-days"))?.split(",") ?? [];
  expect(days.length).toBeGreaterThan(1);
  expect(
    days.every((d, i) => i === 0 || Date.parse(d) - Date.parse(days[i - 1] as string) === 86_400_000),
  ).toBe(true);
  expect(daily.annotations).toContainEqual({ type: "box", value: null, label: "today" });
  expectRoundSteps(daily.scales.y?.ticks ?? []);
  // Pacing: the on-plan line is drawn and labelled.
  const pacing = (await chart("chart-pacing")) as Described;
  expect(pacing.annotations).toContainEqual({ type: "line", value: 1, label: "1× = on plan" });

  // Labels say what the numbers are, and money reads as money.
  expect(await text(page, "pacing-title")).toContain("cost ÷ plan so far");
  expect(await text(page, "pacing-title")).toContain("1× = on plan");
  const headers = await page.locator('[data-testid="budget-table"] th').allTextContents();
  expect(headers).toContain("avg / day so far");
  expect(headers).toContain("cost");
  await page.getByTestId("kpi-spend").filter({ hasText: "$" }).waitFor({ timeout: 20_000 });
  expect(await text(page, "kpi-spend")).toMatch(/^\$\d{1,3}(,\d{3})*\.\d{2}$/);
  expect(await text(page, "kpi-cost")).toMatch(/^\$\d{1,3}(,\d{3})*\.\d{2}$/);
  // Advertisers by name and id; statuses in words (no on_track).
  const advertiserOptions = await page.locator('[data-testid="filter-advertiser"] option').allTextContents();
  expect(advertiserOptions.slice(1).every((o) => /^Advertiser [A-Z]+ #\d+$/.test(o))).toBe(true);
  await page.locator('[data-testid="pacing-table"] .badge').first().waitFor({ timeout: 20_000 });
  const flags = await page.locator('[data-testid="pacing-table"] .badge').allTextContents();
  expect(flags.some((f) => f.includes("_"))).toBe(false);

  // That campaign chosen in the filter: the page's impressions equal GET /kpis/campaigns/:id's.
  await page.getByTestId("filter-campaign").selectOption(String(campaignId));
  let seen = "";
  const kpi = await waitFor(
    `campaign ${campaignId}'s impressions on the page equal to the API's`,
    20_000,
    async () => {
      const api = (await (await fetch(`${reporter}/kpis/campaigns/${campaignId}`)).json()) as {
        impressions: number;
      };
      const shown = await count(page, "kpi-impressions");
      seen = `page ${shown} (campaign filter "${await page.getByTestId("filter-campaign").inputValue()}", message "${await text(page, "message")}"), API ${api.impressions}`;
      return shown === api.impressions && shown > 0 ? { shown, api: api.impressions } : undefined;
    },
    () => seen,
  );
  expect(kpi.shown).toBe(kpi.api);

  // Live: the page stays open (no reload, no filter change) while 5,000 impressions are written;
  // its KPI tiles must come to PostgreSQL's own totals through the reports.updated stream alone.
  await page.getByTestId("filter-campaign").selectOption("");
  await page.getByTestId("filter-advertiser").selectOption("");
  const db = new pg.Client({ connectionString: env.DATABASE_URL });
  await db.connect();
  cleanups.push(() => db.end());
  const pgTotals = async () => {
    const { rows } = await db.query<{ impressions: string; clicks: string }>(
      `SELECT (SELECT count(*) FROM impressions i JOIN campaign c ON c.id = i.campaign_id) AS impressions,
              (SELECT count(*) FROM clicks k JOIN campaign c ON c.id = k.campaign_id) AS clicks`,
    );
    return { impressions: Number(rows[0]?.impressions), clicks: Number(rows[0]?.clicks) };
  };
  const tiles = async () => ({
    impressions: await count(page, "kpi-impressions"),
    clicks: await count(page, "kpi-clicks"),
  });
  const settled = await waitFor(
    "the tiles to show PostgreSQL's totals before the write",
    30_000,
    async () => {
      const [shown, truth] = [await tiles(), await pgTotals()];
      return shown.impressions === truth.impressions && shown.clicks === truth.clicks ? truth : undefined;
    },
  );
  // A mark on the page's global object: a reload would lose it.
  await page.evaluate("globalThis.adpipeNoReload = true");
  const written = await fetch(`${generator}/generate/impressions`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ campaign_id: campaignId, count: 5000 }),
  });
  expect(written.status).toBe(201);
  const writtenAt = performance.now();
  const expected = await pgTotals();
  expect(expected.impressions).toBe(settled.impressions + 5000);
  let lastSeen = "";
  await waitFor(
    "the open page's KPI tiles to reach PostgreSQL's totals without a reload",
    30_000,
    async () => {
      const shown = await tiles();
      lastSeen = `tiles ${JSON.stringify(shown)}, PostgreSQL ${JSON.stringify(expected)}`;
      return shown.impressions === expected.impressions && shown.clicks === expected.clicks
        ? true
        : undefined;
    },
    () => lastSeen,
  );
  console.log(
    `live tiles: +5,000 impressions shown ${Math.round(performance.now() - writtenAt)} ms after the write`,
  );
  expect(await page.evaluate("globalThis.adpipeNoReload")).toBe(true);

  // A campaign over its budget is highlighted, live too: its budget cut below its cost.
  const clicked = (await db.query<{ id: number }>("SELECT campaign_id AS id FROM clicks GROUP BY 1 LIMIT 1"))
    .rows[0]?.id as number;
  await db.query("UPDATE campaign SET budget = 0.01 WHERE id = $1", [clicked]);
  await page.locator(`[data-testid="budget-row-${clicked}"].overspent`).waitFor({ timeout: 30_000 });
  expect(await page.getByTestId(`budget-row-${clicked}`).textContent()).toContain("over budget");

  // Wait for the pipeline to settle, then click and watch PostgreSQL and ClickHouse counts rise.
  await page.getByTestId("pg-rows-impressions").filter({ hasText: /\d/ }).waitFor({ timeout: 20_000 });
  const before = {
    pg: await count(page, "pg-rows-impressions"),
    ch: await count(page, "ch-rows-impressions"),
  };
  // The controls show only once the token is given (it stays in this tab's sessionStorage).
  expect(await page.getByTestId("generate-batch").isVisible()).toBe(false);
  await page.getByTestId("token-input").fill(token);
  await page.getByTestId("token-save").click();
  await page.getByTestId("generate-batch").click();
  const message = await waitFor("the message of the generated batch", 30_000, async () => {
    const m = await text(page, "message");
    return m.startsWith("batch generated") ? m : undefined;
  });
  // "batch generated: 2 campaigns, …", not "batch generated failed: …".
  expect(message).toMatch(/^batch generated: 2 campaigns, [\d,]+ impressions/);
  const after = await waitFor("PostgreSQL and ClickHouse counts to rise on the page", 30_000, async () => {
    const now = {
      pg: await count(page, "pg-rows-impressions"),
      ch: await count(page, "ch-rows-impressions"),
    };
    return now.pg > before.pg && now.ch > before.ch && now.ch === now.pg ? now : undefined;
  });
  expect(after.pg).toBeGreaterThan(before.pg);

  // The verification badge (docs/verifier.md): a run on demand shows up beside "Services".
  const verified = await fetch(`http://127.0.0.1:${env.EXTRACTOR_PORT}/verify`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  });
  expect(verified.status).toBe(200);
  await page
    .getByTestId("verify-badge")
    .filter({ hasText: /exact as of|not exact at|repairing/ })
    .waitFor({ timeout: 60_000 });

  // A table paused at the extractor (docs/operations.md): the Operations panel says since when,
  // and "flowing" again once it is resumed.
  const hold = (action: "pause" | "resume") =>
    fetch(`http://127.0.0.1:${env.EXTRACTOR_PORT}/${action}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ table: "advertiser" }),
    });
  expect((await hold("pause")).status).toBe(200);
  await page
    .getByTestId("paused-advertiser")
    .filter({ hasText: "paused since" })
    .waitFor({ timeout: 20_000 });
  expect((await hold("resume")).status).toBe(200);
  await page.getByTestId("paused-advertiser").filter({ hasText: "flowing" }).waitFor({ timeout: 20_000 });

  // A column added in PostgreSQL while the page is open (docs/schema-changes.md): with the table's
  // next write the loader (as its own least-privileged ClickHouse user) adds it, and the page says so.
  await db.query("ALTER TABLE impressions ADD COLUMN device text");
  await db.query("INSERT INTO impressions (campaign_id, device) VALUES ($1, 'tv')", [campaignId]);
  await page
    .getByTestId("schema-change-impressions-device")
    .filter({ hasText: "added as Nullable(String)" })
    .waitFor({ timeout: 30_000 });

  // Two more polls after the counts rose: the throughput sparkline has points to draw.
  await page.waitForTimeout(4500);
  mkdirSync(join(root, "test-output"), { recursive: true });
  await page.getByTestId("filter-campaign").selectOption("");
  await page.waitForTimeout(500);
  await page.screenshot({ path: screenshot, fullPage: true });

  expect(problems).toEqual([]);

  run.proc.kill("SIGINT");
  expect(await run.exit(30_000)).toBe(0);
}, 150_000);
