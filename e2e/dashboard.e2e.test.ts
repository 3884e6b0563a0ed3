// The dashboard in a real browser (Debian's Chromium through playwright-core) against a whole
// pipeline run by `bun start`: every service shows up and ready, the charts have data, a KPI on
// the page equals the API's, "Generate batch" makes the counts rise, and the page logs no error.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

const text = async (page: Page, testid: string) => (await page.getByTestId(testid).textContent()) ?? "";
const count = async (page: Page, testid: string) => Number((await text(page, testid)).replace(/[^\d]/g, ""));

test("the dashboard shows a running pipeline, its KPIs, and drives the generator", async () => {
  // A missing browser is a failure to fix (`apt-get install chromium`, as .ci/run does), not a skip.
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);

  const { home, env } = await startEnvOnMachine("dash", cleanups);
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

  await page.locator('[data-testid="chart-ctr"] rect.bar').first().waitFor({ timeout: 20_000 });
  expect(await page.locator('[data-testid="chart-ctr"] rect.bar').count()).toBeGreaterThan(0);
  // The daily chart comes from a second request, after the bars: wait for it on its own.
  await page.locator('[data-testid="chart-daily"] polyline.line').nth(1).waitFor({ timeout: 20_000 });
  expect(await page.locator('[data-testid="chart-daily"] polyline.line').count()).toBe(2);
  // A real time axis: one labelled tick per shown day, dates rising, the scales labelled, and
  // today (traffic arrives "now" under bun start's simulation) marked as a partial day.
  const ticks = await page
    .locator('[data-testid="chart-daily"] text.x-tick')
    .evaluateAll((nodes) => nodes.map((n) => n.getAttribute("data-date") ?? ""));
  expect(ticks.length).toBeGreaterThan(1);
  expect(ticks.every((d) => /^\d{4}-\d{2}-\d{2}$/.test(d))).toBe(true);
  expect([...ticks].sort()).toEqual(ticks);
  expect(await page.getByTestId("daily-today").count()).toBe(1);
  expect(await page.locator('[data-testid="chart-daily"] text.axis-title').allTextContents()).toEqual([
    "impressions (left scale)",
    "clicks (right scale)",
    "day (UTC)",
  ]);
  expect(await page.locator('[data-testid="chart-daily"] line.grid').count()).toBeGreaterThan(0);

  // Labels say what the numbers are, and money reads as money.
  expect(await text(page, "pacing-title")).toContain("spend ÷ plan so far");
  expect(await text(page, "pacing-title")).toContain("1× = on plan");
  const headers = await page.locator('[data-testid="budget-table"] th').allTextContents();
  expect(headers).toContain("avg / day so far");
  expect(headers).not.toContain("spent today");
  await page.getByTestId("kpi-spend").filter({ hasText: "$" }).waitFor({ timeout: 20_000 });
  expect(await text(page, "kpi-spend")).toMatch(/^\$\d{1,3}(,\d{3})*\.\d{2}$/);

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
  await waitFor("the message of the generated batch", 10_000, async () =>
    (await text(page, "message")).startsWith("batch generated") ? true : undefined,
  );
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
