// The adpipe dashboard: plain JavaScript, no build step, no CDN (charts.js draws with Chart.js,
// served by the reporter). It reads only the reporter (same origin): /dashboard/api/pipeline for
// the pipeline's state, /kpis/* for the charts.

const POLL_MS = 2000;
/** Throughput needs history: successive polls' ClickHouse counts, about the last five minutes. */
const HISTORY = 150;
const history = [];
const SVG = "http://www.w3.org/2000/svg";

const $ = (id) => document.getElementById(id);
const F = window.adpipeFormat;
const fmt = F.count;
const pct = F.pct;
const money = F.money;
const { bars, daily: dailyChart, COLORS } = window.adpipeCharts;
/** Throughput is averaged over this window: single polls are too jumpy to read. */
const RATE_WINDOW_MS = 30_000;

function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:")
    ? document.createElementNS(SVG, tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

async function getJson(path, init) {
  const res = await fetch(path, init);
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `${path} answered ${res.status}`);
  return body;
}

function say(text, isError = false) {
  const m = $("message");
  m.textContent = text;
  m.className = isError ? "message error" : "message";
}

// ---- pipeline -------------------------------------------------------------------------------

function badge(ok, yes, no) {
  return el("span", { class: `badge ${ok ? "ok" : "bad"}`, text: ok ? yes : no });
}

function renderServices(services) {
  $("services").replaceChildren(
    ...services.map((s) =>
      el(
        "li",
        { "data-testid": `service-${s.name}`, "data-up": s.up, "data-ready": s.ready },
        el("span", { class: "name", text: s.name }),
        badge(s.up, "up", "down"),
        s.up ? badge(s.ready, "ready", "not ready") : null,
        s.error ? el("span", { class: "err", text: s.error }) : null,
        // Ready, with a warning (the extractor names an open transaction holding its windows back).
        ...Object.values(s.dependencies ?? {})
          .filter((d) => d?.warning)
          .map((d) => el("span", { class: "err", "data-testid": `warning-${s.name}`, text: d.warning })),
      ),
    ),
  );
}

/** Rows per second per table at each poll, averaged over the RATE_WINDOW_MS before it. */
function throughput(table) {
  const points = history.filter((h) => typeof h.counts[table] === "number");
  const series = [];
  let j = 0;
  for (let i = 1; i < points.length; i++) {
    while (j < i - 1 && points[i].t - points[j].t > RATE_WINDOW_MS) j++;
    const dt = (points[i].t - points[j].t) / 1000;
    series.push(dt > 0 ? Math.max(0, (points[i].counts[table] - points[j].counts[table]) / dt) : 0);
  }
  return series;
}

function sparkline(values, width = 110, height = 22) {
  const svg = el("svg:svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "spark" });
  if (values.length < 2) return svg;
  const max = Math.max(...values, 1);
  const step = width / (values.length - 1);
  const pts = values.map(
    (v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`,
  );
  svg.append(
    el("svg:polyline", { points: pts.join(" "), fill: "none", stroke: "#2f6fdf", "stroke-width": 1.5 }),
  );
  return svg;
}

function renderTables(tables) {
  $("tables").replaceChildren(
    ...tables.map((t) => {
      const rate = throughput(t.table);
      const last = rate.at(-1);
      const behind = t.rows_behind;
      return el(
        "tr",
        { "data-testid": `table-${t.table}` },
        el("td", { text: t.table }),
        el("td", { class: "num", text: t.watermark ?? "–" }),
        el(
          "td",
          { class: "num" },
          el("span", { "data-testid": `pending-${t.table}`, text: fmt(t.pending) }),
          t.stalled_since
            ? el("span", {
                class: "badge bad",
                "data-testid": `stalled-${t.table}`,
                title: "its consumer receives nothing while batches wait; the loader is recreating its pull",
                text: `stalled since ${F.time(t.stalled_since)}`,
              })
            : null,
          t.schema_blocked
            ? el("span", {
                class: "badge bad",
                "data-testid": `schema-blocked-${t.table}`,
                title: t.schema_blocked.message,
                text: `stopped on a schema change since ${F.time(t.schema_blocked.since)}`,
              })
            : null,
        ),
        el("td", { class: "num", "data-testid": `pg-rows-${t.table}`, text: fmt(t.pg_rows) }),
        el("td", { class: "num", "data-testid": `ch-rows-${t.table}`, text: fmt(t.ch_rows) }),
        el("td", { class: "num", text: behind === null ? "–" : fmt(behind) }),
        el("td", { class: "num", text: t.lag_seconds === null ? "–" : t.lag_seconds.toFixed(1) }),
        el("td", { class: "num", text: fmt(t.errors) }),
        el(
          "td",
          {},
          sparkline(rate),
          el("span", {
            class: "muted",
            "data-testid": `throughput-${t.table}`,
            // A trickle (the simulation's few rows a second) keeps a decimal, so it does not read as 0.
            text:
              last === undefined
                ? " measuring…"
                : ` ${last < 10 ? last.toFixed(1) : fmt(Math.round(last))} rows/s`,
          }),
        ),
      );
    }),
  );
  $("batches").replaceChildren(
    ...tables.map((t) =>
      el(
        "tr",
        {},
        el("td", { text: t.table }),
        el("td", { class: "num", text: fmt(t.last_batch?.rows) }),
        el("td", { class: "num", text: fmt(t.last_batch?.batches) }),
        el("td", { class: "num", text: t.last_batch?.watermark ?? "–" }),
        el("td", { text: t.last_batch ? F.time(t.last_batch.loadedAt) : "–" }),
      ),
    ),
  );
}

const SCHEMA_CHANGE_TEXT = {
  add_column: (c) => `added as ${c.to}`,
  widen_column: (c) => `widened ${c.from} → ${c.to}`,
  blocked: (c) => `stopped: PostgreSQL's ${c.pgType} does not fit ${c.from}`,
  resumed: () => "flowing again",
};

function renderSchemaChanges(changes) {
  const body = $("schema-changes");
  if (!changes || changes.length === 0) {
    body.replaceChildren(
      el("tr", {}, el("td", { colspan: 3, class: "muted", text: "none since the loader started" })),
    );
    return;
  }
  body.replaceChildren(
    ...changes.map((c) =>
      el(
        "tr",
        { "data-testid": `schema-change-${c.table}-${c.column}`, title: c.message ?? "" },
        el("td", { text: F.time(c.at) }),
        el("td", { text: `${c.table}.${c.column}` }),
        el("td", {
          class: c.change === "blocked" ? "err" : "",
          text: (SCHEMA_CHANGE_TEXT[c.change] ?? (() => c.change))(c),
        }),
      ),
    ),
  );
}

function renderDeadLetters(dl) {
  const body = $("dead-letters");
  if (!dl || dl.error) {
    $("dl-count").textContent = "";
    body.replaceChildren(el("tr", {}, el("td", { colspan: 4, class: "err", text: dl?.error ?? "unknown" })));
    return;
  }
  $("dl-count").textContent = `(${fmt(dl.total)})`;
  if (dl.dead_letters.length === 0) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 4, class: "muted", text: "none" })));
    return;
  }
  body.replaceChildren(
    ...dl.dead_letters.map((d) =>
      el(
        "tr",
        { "data-testid": `dead-letter-${d.id}` },
        el("td", { text: d.id }),
        el("td", { text: `${d.table} ${d.batch_id ?? ""}` }),
        el("td", { class: "err", text: `${d.error_kind}: ${d.error}` }),
        el(
          "td",
          {},
          el("button", {
            "data-testid": `replay-${d.id}`,
            text: "Replay",
            onclick: (e) => control(e.target, `/dashboard/api/dead-letters/${d.id}/replay`, "replayed"),
          }),
        ),
      ),
    ),
  );
}

function showPipeline(p) {
  const counts = Object.fromEntries(
    p.tables.filter((t) => t.ch_rows !== null).map((t) => [t.table, t.ch_rows]),
  );
  history.push({ t: Date.parse(p.at), counts });
  if (history.length > HISTORY) history.shift();
  renderServices(p.services);
  renderTables(p.tables);
  renderSchemaChanges(p.schema_changes);
  renderDeadLetters(p.dead_letters);
  const sim = p.simulation;
  $("simulation").textContent = sim?.error
    ? ""
    : sim?.running
      ? `simulation running${sim.intervalSeconds ? ` every ${sim.intervalSeconds} s` : ""}`
      : "simulation stopped";
  $("updated").textContent = `updated ${F.time(p.at)}`;
}

async function pollPipeline() {
  try {
    showPipeline(await getJson("/dashboard/api/pipeline"));
  } catch (err) {
    $("updated").textContent = `reporter unreachable: ${err.message}`;
  }
}

// ---- KPIs -----------------------------------------------------------------------------------

function filters() {
  return {
    advertiser: $("f-advertiser").value,
    campaign: $("f-campaign").value,
    from: $("f-from").value,
    to: $("f-to").value,
  };
}

function fillSelect(select, options) {
  const current = select.value;
  select.replaceChildren(
    el("option", { value: "", text: "all" }),
    ...options.map(([v, t]) => el("option", { value: v, text: t })),
  );
  if (options.some(([v]) => String(v) === current)) select.value = current;
}

function renderTotals(rows) {
  const sum = (k) => rows.reduce((a, r) => a + (Number(r[k]) || 0), 0);
  const impressions = sum("impressions");
  const clicks = sum("clicks");
  const items = [
    ["campaigns", fmt(rows.length), "kpi-campaigns"],
    ["impressions", fmt(impressions), "kpi-impressions"],
    ["clicks", fmt(clicks), "kpi-clicks"],
    ["CTR", pct(impressions ? clicks / impressions : null), "kpi-ctr"],
    ["cost", money(sum("cost")), "kpi-cost"],
    ["spend (at current bids)", money(sum("spend")), "kpi-spend"],
    ["budget", money(sum("budget")), "kpi-budget"],
  ];
  // Campaign totals are lifetime figures; the date range narrows the daily chart only.
  $("totals").replaceChildren(
    ...items.map(([k, v, id]) =>
      el(
        "div",
        {},
        el("span", { class: "v", "data-testid": id, text: v }),
        el("span", { class: "k", text: k }),
      ),
    ),
  );
}

async function loadKpis() {
  const f = filters();
  try {
    const all = await getJson("/kpis/campaigns");
    const advertisers = [...new Map(all.map((c) => [c.advertiser_id, c.advertiser_name])).entries()];
    fillSelect(
      $("f-advertiser"),
      advertisers.map(([id, name]) => [id, F.advertiser({ advertiser_id: id, advertiser_name: name })]),
    );
    const inAdvertiser = f.advertiser ? all.filter((c) => String(c.advertiser_id) === f.advertiser) : all;
    fillSelect(
      $("f-campaign"),
      inAdvertiser.map((c) => [c.campaign_id, F.campaign(c)]),
    );
    const rows = $("f-campaign").value
      ? inAdvertiser.filter((c) => String(c.campaign_id) === $("f-campaign").value)
      : inAdvertiser;
    renderTotals(rows);
    const over = (r) => Number(r.cost) > Number(r.budget);
    bars($("chart-ctr"), rows, {
      series: [{ key: "ctr", label: "CTR", color: COLORS.blue }],
      format: (v) => pct(v, v < 0.01 && v > 0 ? 2 : 1),
    });
    // Cost (the clicks at the bid in force) against budget; a campaign over budget in red.
    bars($("chart-budget"), rows, {
      series: [
        { key: "cost", label: "cost", color: (r) => (over(r) ? COLORS.red : COLORS.orange) },
        { key: "budget", label: "budget", color: COLORS.grey },
      ],
      format: money,
      note: (shown) => (shown.some(over) ? "red: cost above budget" : ""),
    });
    // Pacing: cost over the plan so far (budget × elapsed share of the flight, by the clock). The
    // scale stops at 3× so the on-plan line stays readable next to a runaway campaign.
    const paceColor = (r) => (r.pacing > 1.1 ? COLORS.red : r.pacing < 0.9 ? COLORS.amber : COLORS.green);
    const topPacing = Math.max(...rows.map((r) => Number(r.pacing) || 0));
    bars($("chart-pacing"), rows, {
      series: [{ key: "pacing", label: "pacing", color: paceColor }],
      format: F.ratio,
      lines: [{ at: 1, label: "1× = on plan", color: "#333" }],
      max: topPacing > 3 ? 3 : undefined,
      note: () =>
        `green on track (0.9–1.1×), amber under, red over${topPacing > 3 ? "; scale stops at 3×" : ""}`,
    });
    $("budget-table").replaceChildren(
      el(
        "table",
        {},
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            ...[
              "campaign",
              "cost",
              "spend (current bids)",
              "budget",
              "used",
              "daily norm",
              "avg / day so far",
              "pacing",
              "status",
            ].map((h) => el("th", { text: h })),
          ),
        ),
        el(
          "tbody",
          {},
          ...rows.map((r) =>
            el(
              "tr",
              { class: over(r) ? "overspent" : null, "data-testid": `budget-row-${r.campaign_id}` },
              el("td", { text: F.campaign(r) }),
              el("td", { class: "num", text: money(r.cost) }),
              el("td", { class: "num", text: money(r.spend) }),
              el("td", { class: "num", text: money(r.budget) }),
              el("td", {
                class: "num",
                text: r.budget_used_pct === null ? "–" : `${Number(r.budget_used_pct).toFixed(1)} %`,
              }),
              el("td", { class: "num", text: money(r.daily_norm) }),
              el("td", { class: "num", text: money(r.daily_used) }),
              el("td", { class: "num", text: F.ratio(r.pacing) }),
              el(
                "td",
                {},
                el("span", {
                  class: `badge ${over(r) ? "bad" : r.budget_status === "ok" ? "ok" : "warn"}`,
                  text: over(r) ? "over budget" : F.status(r.budget_status),
                }),
              ),
            ),
          ),
        ),
      ),
    );
    const q = new URLSearchParams();
    if ($("f-campaign").value) q.set("campaign_id", $("f-campaign").value);
    if (f.from) q.set("from", f.from);
    if (f.to) q.set("to", f.to);
    // An advertiser without one campaign chosen: its campaigns summed per day, in one request.
    if (f.advertiser && !$("f-campaign").value) q.set("advertiser_id", f.advertiser);
    const daily = await getJson(`/kpis/daily?${q}`);
    dailyChart($("chart-daily"), daily, { from: f.from, to: f.to });
  } catch (err) {
    say(`KPIs: ${err.message}`, true);
  }
}

// ---- controls -------------------------------------------------------------------------------

/** A control's answer in words: the counts people look for, else the first fields. */
function summary(r) {
  if (r && typeof r.impressions === "number" && Array.isArray(r.campaign_ids))
    return `${fmt(r.campaign_ids.length)} campaigns, ${fmt(r.impressions)} impressions, ${fmt(r.clicks)} clicks`;
  if (r && typeof r.durationMs === "number") return `full rebuild in ${fmt(Math.round(r.durationMs))} ms`;
  if (r && typeof r.running === "boolean") return r.running ? "running" : "stopped";
  return JSON.stringify(r).slice(0, 160);
}

async function control(button, path, done, body) {
  button.disabled = true;
  try {
    const r = await getJson(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body ?? {}),
    });
    say(`${done}: ${summary(r)}`);
    pollPipeline();
  } catch (err) {
    say(`${done} failed: ${err.message}`, true);
  } finally {
    button.disabled = false;
  }
}

$("btn-generate").addEventListener("click", (e) =>
  control(e.target, "/dashboard/api/generate-batch", "batch generated"),
);
$("btn-sim-start").addEventListener("click", (e) =>
  control(e.target, "/dashboard/api/simulate/start", "simulation started"),
);
$("btn-sim-stop").addEventListener("click", (e) =>
  control(e.target, "/dashboard/api/simulate/stop", "simulation stopped"),
);
$("btn-rebuild").addEventListener("click", (e) =>
  control(e.target, "/reports/rebuild", "reports rebuilt").then(loadKpis),
);
$("f-advertiser").addEventListener("change", () => {
  $("f-campaign").value = "";
  loadKpis();
});
for (const id of ["f-campaign", "f-from", "f-to"]) $(id).addEventListener("change", loadKpis);
// Charts are drawn at the panel's width: redraw once a resize settles.
let resizeTimer;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(loadKpis, 200);
});

// Live updates: the reporter pushes the pipeline's state every 2 s and a `reports` event after
// every rebuild (server-sent events, read through fetch so the page's token goes along). KPIs are
// reloaded when reports change, at most once a second. If the stream fails, the page polls once
// and connects again.
let kpisDue = false;
let kpisLoading = false;
async function reportsChanged() {
  if (kpisLoading) {
    kpisDue = true;
    return;
  }
  kpisLoading = true;
  try {
    // pacing.js reloads its table on this too.
    window.dispatchEvent(new Event("adpipe:reports"));
    await loadKpis();
  } finally {
    setTimeout(() => {
      kpisLoading = false;
      if (kpisDue) {
        kpisDue = false;
        reportsChanged();
      }
    }, 1000);
  }
}

function onServerEvent(type, data) {
  if (type === "pipeline") showPipeline(JSON.parse(data));
  else if (type === "reports") reportsChanged();
}

async function listen() {
  try {
    const res = await fetch("/dashboard/api/events", { headers: { accept: "text/event-stream" } });
    if (!res.ok || !res.body) throw new Error(`answered ${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
        const lines = buffered.slice(0, end).split("\n");
        buffered = buffered.slice(end + 2);
        const type =
          lines
            .find((l) => l.startsWith("event:"))
            ?.slice(6)
            .trim() ?? "message";
        const data = lines
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).replace(/^ /, ""))
          .join("\n");
        onServerEvent(type, data);
      }
    }
  } catch (err) {
    $("updated").textContent = `live updates interrupted: ${err.message}`;
  }
  await pollPipeline();
  setTimeout(listen, POLL_MS);
}

loadKpis();
listen();
