// The adpipe dashboard: vanilla JS, no build step, no CDN. It reads only the reporter (same
// origin): /dashboard/api/pipeline for the pipeline's state, /kpis/* for the charts.

const POLL_MS = 2000;
/** Throughput needs history: successive polls' ClickHouse counts, about the last five minutes. */
const HISTORY = 150;
const history = [];
const SVG = "http://www.w3.org/2000/svg";

const $ = (id) => document.getElementById(id);
const fmt = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en"));
const pct = (x) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(2)} %`);
/** Money in the page's currency: `?currency=EUR` (ISO 4217) in the address, USD by default. */
const CURRENCY = new URLSearchParams(location.search).get("currency")?.toUpperCase() || "USD";
const moneyFormat = (() => {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency: CURRENCY });
  } catch {
    return new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
  }
})();
const money = (x) => (x === null || x === undefined ? "–" : moneyFormat.format(Number(x)));
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
        el("td", { class: "num", "data-testid": `pending-${t.table}`, text: fmt(t.pending) }),
        el("td", { class: "num", "data-testid": `pg-rows-${t.table}`, text: fmt(t.pg_rows) }),
        el("td", { class: "num", "data-testid": `ch-rows-${t.table}`, text: fmt(t.ch_rows) }),
        el("td", { class: "num", text: behind === null ? "–" : fmt(behind) }),
        el("td", { class: "num", text: t.lag_seconds === null ? "–" : t.lag_seconds.toFixed(1) }),
        el("td", { class: "num", text: fmt(t.errors) }),
        el(
          "td",
          {},
          sparkline(rate),
          el("span", { class: "muted", text: last === undefined ? "" : ` ${fmt(Math.round(last))} rows/s` }),
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
        el("td", { text: t.last_batch ? new Date(t.last_batch.loadedAt).toLocaleTimeString() : "–" }),
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
  renderDeadLetters(p.dead_letters);
  const sim = p.simulation;
  $("simulation").textContent = sim?.error
    ? ""
    : sim?.running
      ? `simulation running${sim.intervalSeconds ? ` every ${sim.intervalSeconds} s` : ""}`
      : "simulation stopped";
  $("updated").textContent = `updated ${new Date(p.at).toLocaleTimeString()}`;
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
    ["spend", money(sum("spend")), "kpi-spend"],
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

/** Bars beyond this many would make the panel a scroll: the largest are shown, the rest counted. */
const MAX_BARS = 20;

/** Horizontal bars, one row per item: `series` are [key, colour, label] drawn side by side. */
function barChart(container, allRows, series, { label, format, max: fixedMax, marker, clampAt } = {}) {
  if (allRows.length === 0) {
    container.replaceChildren(el("div", { class: "empty", text: "no data for this filter" }));
    return;
  }
  const key = series[0][0];
  const rows =
    allRows.length > MAX_BARS
      ? [...allRows].sort((a, b) => (Number(b[key]) || 0) - (Number(a[key]) || 0)).slice(0, MAX_BARS)
      : allRows;
  const rowH = 8 + 12 * series.length;
  const left = 130;
  // Drawn at the panel's own pixel width, so text keeps its size on any screen.
  const width = Math.max(320, container.clientWidth || 600);
  const right = 70;
  const height = rows.length * rowH + 24;
  const largest = Math.max(...rows.flatMap((r) => series.map(([k]) => Number(r[k]) || 0)), marker ?? 0, 1e-9);
  // clampAt: a scale that stops there, so one runaway value does not squash the others.
  const max = fixedMax ?? (clampAt ? Math.min(largest, clampAt) : largest);
  const x = (v) => left + (Math.min(max, Math.max(0, v)) / max) * (width - left - right);
  const svg = el("svg:svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  rows.forEach((r, i) => {
    const y = 4 + i * rowH;
    svg.append(el("svg:text", { x: left - 6, y: y + rowH / 2 + 2, "text-anchor": "end", text: label(r) }));
    series.forEach(([k, colour], j) => {
      const v = Number(r[k]) || 0;
      svg.append(
        el(
          "svg:rect",
          {
            x: left,
            y: y + j * 12,
            width: Math.max(1, x(v) - left),
            height: 10,
            fill: colour,
            class: "bar",
            "data-value": v,
          },
          el("svg:title", { text: `${label(r)}: ${format(v)}` }),
        ),
        el("svg:text", {
          x: Math.min(x(v) + 4, width - right + 4),
          y: y + j * 12 + 9,
          class: v > max ? "clamped" : null,
          text: v > max ? `${format(v)} ▸` : format(v),
        }),
      );
    });
  });
  if (marker !== undefined) {
    svg.append(
      el("svg:line", {
        x1: x(marker),
        x2: x(marker),
        y1: 0,
        y2: height - 20,
        stroke: "#c62828",
        "stroke-dasharray": "4 3",
      }),
    );
  }
  // Gridlines at quarters of the scale, labelled.
  for (let q = 0; q <= 4; q++) {
    const v = (max * q) / 4;
    svg.append(
      el("svg:line", { x1: x(v), x2: x(v), y1: 0, y2: height - 20, class: q === 0 ? "axis" : "grid" }),
      el("svg:text", {
        x: x(v),
        y: height - 4,
        "text-anchor": q === 0 ? "start" : q === 4 ? "end" : "middle",
        class: "tick",
        text: q === 0 ? "0" : format(v),
      }),
    );
  }
  const legend = el(
    "div",
    { class: "legend" },
    ...series.map(([, colour, name]) => el("span", {}, el("i", { style: `background:${colour}` }), name)),
    rows.length < allRows.length
      ? el("span", { text: `top ${rows.length} of ${allRows.length} by ${key}` })
      : null,
    largest > max ? el("span", { text: `scale stops at ${format(max)}; ▸ marks larger values` }) : null,
  );
  container.replaceChildren(svg, legend);
}

const DAY_MS = 86_400_000;
const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);

/** A round scale maximum above `v` (1, 2 or 5 × a power of ten, in four steps). */
function niceMax(v) {
  if (v <= 0) return 4;
  const raw = v / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].find((m) => m * power >= raw) * power;
  return Math.max(4, step * 4);
}

/**
 * Daily lines on a real time axis (UTC days, one slot per calendar day): a day without a row
 * shows as a hollow point at zero on a shaded slot, and today, still filling up, is marked.
 */
function lineChart(container, rows, series, { from, to } = {}) {
  if (rows.length === 0) {
    container.replaceChildren(el("div", { class: "empty", text: "no data for this filter" }));
    return;
  }
  const today = isoDay(Date.now());
  const byDate = new Map(rows.map((r) => [r.date, r]));
  const first = Date.parse(from || rows[0].date);
  const lastRow = Date.parse(rows.at(-1).date);
  const last = Math.max(
    Date.parse(to || isoDay(Math.max(lastRow, Math.min(Date.now(), lastRow + 7 * DAY_MS)))),
    first,
  );
  const days = [];
  for (let t = first; t <= last; t += DAY_MS) days.push(isoDay(t));
  const width = Math.max(320, container.clientWidth || 600);
  const height = 260;
  const pad = { l: 64, r: 64, t: 32, b: 40 };
  const plotW = width - pad.l - pad.r;
  const slot = plotW / days.length;
  const xAt = (i) => pad.l + (i + 0.5) * slot;
  const svg = el("svg:svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  const scales = series.map(([k]) => niceMax(Math.max(...rows.map((r) => Number(r[k]) || 0))));
  const yAt = (v, max) => pad.t + (1 - v / max) * (height - pad.t - pad.b);

  days.forEach((d, i) => {
    if (!byDate.has(d))
      svg.append(
        el("svg:rect", {
          x: pad.l + i * slot,
          y: pad.t,
          width: slot,
          height: height - pad.t - pad.b,
          class: "gap",
        }),
      );
    if (d === today)
      svg.append(
        el(
          "svg:rect",
          {
            x: pad.l + i * slot,
            y: pad.t,
            width: slot,
            height: height - pad.t - pad.b,
            class: "today",
            "data-testid": "daily-today",
          },
          el("svg:title", { text: `${d}: today, partial (the day is not over)` }),
        ),
        el("svg:text", {
          x: Math.min(xAt(i), width - pad.r - 40),
          y: pad.t - 4,
          "text-anchor": "middle",
          class: "tick",
          text: "today (partial)",
        }),
      );
  });
  // Gridlines at quarters of both scales; 0 is the axis.
  for (let q = 0; q <= 4; q++) {
    const y = pad.t + (1 - q / 4) * (height - pad.t - pad.b);
    svg.append(
      el("svg:line", { x1: pad.l, x2: width - pad.r, y1: y, y2: y, class: q === 0 ? "axis" : "grid" }),
    );
    series.forEach(([, colour, , side], j) => {
      svg.append(
        el("svg:text", {
          x: side === "left" ? pad.l - 6 : width - pad.r + 6,
          y: y + 4,
          "text-anchor": side === "left" ? "end" : "start",
          fill: colour,
          class: "tick",
          text: fmt((scales[j] * q) / 4),
        }),
      );
    });
  }
  series.forEach(([k, colour, name, side], j) => {
    const pts = days.map(
      (d, i) => `${xAt(i).toFixed(1)},${yAt(Number(byDate.get(d)?.[k]) || 0, scales[j]).toFixed(1)}`,
    );
    svg.append(
      el("svg:polyline", {
        points: pts.join(" "),
        fill: "none",
        stroke: colour,
        "stroke-width": 2,
        class: "line",
        "data-series": k,
      }),
    );
    days.forEach((d, i) => {
      const r = byDate.get(d);
      svg.append(
        el(
          "svg:circle",
          {
            cx: xAt(i),
            cy: yAt(Number(r?.[k]) || 0, scales[j]),
            r: 2.5,
            fill: r ? colour : "#fff",
            stroke: colour,
          },
          el("svg:title", {
            text: `${d} ${k}: ${r ? fmt(r[k]) : "no traffic"}${d === today ? " (today, partial)" : ""}`,
          }),
        ),
      );
    });
    svg.append(
      el("svg:text", {
        x: side === "left" ? 4 : width - 4,
        y: 10,
        "text-anchor": side === "left" ? "start" : "end",
        fill: colour,
        class: "axis-title",
        text: name,
      }),
    );
  });
  const every = Math.ceil(days.length / Math.max(2, Math.floor(plotW / 56)));
  days.forEach((d, i) => {
    if (i % every === 0 || i === days.length - 1)
      svg.append(
        el("svg:line", { x1: xAt(i), x2: xAt(i), y1: height - pad.b, y2: height - pad.b + 4, class: "axis" }),
        el("svg:text", {
          x: xAt(i),
          y: height - pad.b + 16,
          "text-anchor": "middle",
          class: "tick x-tick",
          "data-date": d,
          text: d.slice(5),
        }),
      );
  });
  svg.append(
    el("svg:text", {
      x: pad.l + plotW / 2,
      y: height - 4,
      "text-anchor": "middle",
      class: "axis-title",
      text: "day (UTC)",
    }),
  );
  const legend = el(
    "div",
    { class: "legend" },
    ...series.map(([, colour, name]) => el("span", {}, el("i", { style: `background:${colour}` }), name)),
    el("span", {}, el("i", { class: "gap-key" }), "no traffic that day"),
  );
  container.replaceChildren(svg, legend);
}

async function loadKpis() {
  const f = filters();
  try {
    const all = await getJson("/kpis/campaigns");
    const advertisers = [...new Map(all.map((c) => [c.advertiser_id, c.advertiser_name])).entries()];
    fillSelect(
      $("f-advertiser"),
      advertisers.map(([id, name]) => [id, `${name} (#${id})`]),
    );
    const inAdvertiser = f.advertiser ? all.filter((c) => String(c.advertiser_id) === f.advertiser) : all;
    fillSelect(
      $("f-campaign"),
      inAdvertiser.map((c) => [c.campaign_id, `${c.campaign_name} (#${c.campaign_id})`]),
    );
    const rows = $("f-campaign").value
      ? inAdvertiser.filter((c) => String(c.campaign_id) === $("f-campaign").value)
      : inAdvertiser;
    renderTotals(rows);
    // Names repeat across advertisers and batches (Campaign_3_1): the id tells them apart.
    const label = (r) => `${r.campaign_name} #${r.campaign_id}`;
    barChart($("chart-ctr"), rows, [["ctr", "#2f6fdf", "CTR"]], { label, format: pct });
    barChart(
      $("chart-budget"),
      rows,
      [
        ["spend", "#e0772f", "spend"],
        ["budget", "#c9d3e3", "budget"],
      ],
      { label, format: money },
    );
    // Pacing: spend over the plan so far (budget × elapsed days ÷ flight days); the dashed line
    // is 1× (on plan). The scale stops at 3×, so 1× stays readable next to a runaway campaign.
    barChart($("chart-pacing"), rows, [["pacing", "#7a56c8", "pacing"]], {
      label,
      format: (v) => `${v.toFixed(2)}×`,
      marker: 1,
      clampAt: 3,
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
              "spend",
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
              {},
              el("td", { text: `${r.campaign_name} #${r.campaign_id}` }),
              el("td", { class: "num", text: money(r.spend) }),
              el("td", { class: "num", text: money(r.budget) }),
              el("td", {
                class: "num",
                text: r.budget_used_pct === null ? "–" : `${Number(r.budget_used_pct).toFixed(1)} %`,
              }),
              el("td", { class: "num", text: money(r.daily_norm) }),
              el("td", { class: "num", text: money(r.daily_used) }),
              el("td", { class: "num", text: r.pacing === null ? "–" : `${Number(r.pacing).toFixed(2)}×` }),
              el(
                "td",
                {},
                el("span", {
                  class: `badge ${r.budget_status === "ok" ? "ok" : "warn"}`,
                  text: r.budget_status,
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
    lineChart(
      $("chart-daily"),
      daily,
      [
        ["impressions", "#2f6fdf", "impressions (left scale)", "left"],
        ["clicks", "#e0772f", "clicks (right scale)", "right"],
      ],
      { from: f.from, to: f.to },
    );
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
