// The KPI charts, drawn by Chart.js with its annotation plugin (npm packages the reporter serves
// from its own node_modules at /dashboard/vendor/: no CDN, works offline). Chart.js picks round
// tick steps (1, 2, 2.5, 5 × 10^n) by itself; reference lines carry their own label. A chart is
// updated in place when the reports change, without animation, so a live page does not flicker.
(() => {
  const F = window.adpipeFormat;
  const COLORS = {
    blue: "#2f6fdf",
    orange: "#e0772f",
    grey: "#c9d3e3",
    red: "#c62828",
    green: "#2e7d32",
    amber: "#b26a00",
  };
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 11;
  Chart.defaults.color = "#444";

  /** One chart per panel: created once, then its data and options replaced. */
  function draw(host, config) {
    let canvas = host.querySelector("canvas");
    if (!canvas) {
      canvas = document.createElement("canvas");
      host.replaceChildren(canvas);
    }
    const chart = Chart.getChart(canvas);
    if (chart && chart.config.type === config.type) {
      chart.data = config.data;
      chart.options = config.options;
      chart.update("none");
      return chart;
    }
    chart?.destroy();
    return new Chart(canvas, config);
  }

  function empty(host) {
    Chart.getChart(host.querySelector("canvas"))?.destroy();
    const note = document.createElement("div");
    note.className = "empty";
    note.textContent = "no data for this filter";
    host.replaceChildren(note);
  }

  /** Bars beyond this many would make the panel a scroll: the largest are shown, the rest counted. */
  const MAX_BARS = 20;
  const largest = (rows, key) =>
    rows.length > MAX_BARS
      ? [...rows].sort((a, b) => Number(b[key]) - Number(a[key])).slice(0, MAX_BARS)
      : rows;

  /**
   * Horizontal bars, one row per campaign: `series` [{ key, label, color(row) }], `format` for
   * ticks and tooltips, `lines` reference lines [{ at, label }], `max` where the scale stops.
   */
  function bars(host, allRows, { series, format, lines = [], max, note }) {
    if (allRows.length === 0) return empty(host);
    const rows = largest(allRows, series[0].key);
    host.style.height = `${rows.length * (10 + 12 * series.length) + 70}px`;
    const annotations = Object.fromEntries(
      lines.map((l, i) => [
        `line${i}`,
        {
          type: "line",
          scaleID: "x",
          value: l.at,
          borderColor: l.color ?? COLORS.red,
          borderDash: [4, 3],
          borderWidth: 1.5,
          label: {
            display: true,
            content: l.label,
            position: "start",
            backgroundColor: "rgba(255,255,255,0.9)",
            color: l.color ?? COLORS.red,
            font: { size: 11, weight: "bold" },
          },
        },
      ]),
    );
    const chart = draw(host, {
      type: "bar",
      data: {
        labels: rows.map(F.campaign),
        datasets: series.map((s) => ({
          label: s.label,
          data: rows.map((r) => Number(r[s.key]) || 0),
          backgroundColor: rows.map((r) => (typeof s.color === "function" ? s.color(r) : s.color)),
          barPercentage: 0.9,
          categoryPercentage: 0.85,
        })),
      },
      options: {
        indexAxis: "y",
        scales: {
          x: { beginAtZero: true, max, ticks: { callback: (v) => format(v), maxTicksLimit: 6 } },
          y: { ticks: { autoSkip: false } },
        },
        plugins: {
          legend: { display: series.length > 1, position: "bottom" },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${format(c.raw)}` } },
          annotation: { annotations },
          subtitle: {
            display: Boolean(note) || rows.length < allRows.length,
            position: "bottom",
            text: [
              rows.length < allRows.length ? `top ${rows.length} of ${allRows.length}` : "",
              note?.(rows) ?? "",
            ]
              .filter(Boolean)
              .join("; "),
          },
        },
      },
    });
    host.dataset.rows = String(rows.length);
    return chart;
  }

  const DAY_MS = 86_400_000;
  const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);

  /**
   * Impressions (bars, left scale) and clicks (line, right scale) per UTC day, one slot per
   * calendar day between the first row (or `from`) and the last (or `to`); a day without traffic
   * is a 0, today (still filling up) is shaded and labelled. The two scales are in the colour of
   * their series: clicks are a few % of impressions and would be a flat line on one scale.
   */
  function daily(host, rows, { from, to } = {}) {
    if (rows.length === 0) return empty(host);
    host.style.height = "280px";
    const byDate = new Map(rows.map((r) => [r.date, r]));
    const first = Date.parse(from || rows[0].date);
    const last = Math.max(Date.parse(to || rows.at(-1).date), first);
    const days = [];
    for (let t = first; t <= last; t += DAY_MS) days.push(isoDay(t));
    const today = isoDay(Date.now());
    const annotations = days.includes(today)
      ? {
          today: {
            type: "box",
            xMin: days.indexOf(today) - 0.5,
            xMax: days.indexOf(today) + 0.5,
            backgroundColor: "rgba(255, 193, 7, 0.15)",
            borderWidth: 0,
            label: {
              display: true,
              content: "today",
              position: { x: "center", y: "start" },
              font: { size: 10 },
            },
          },
        }
      : {};
    const value = (d, k) => Number(byDate.get(d)?.[k] ?? 0);
    const chart = draw(host, {
      type: "bar",
      data: {
        labels: days.map((d) => d.slice(5)),
        datasets: [
          {
            type: "bar",
            label: "impressions (left scale)",
            data: days.map((d) => value(d, "impressions")),
            backgroundColor: COLORS.blue,
            yAxisID: "y",
            order: 2,
          },
          {
            type: "line",
            label: "clicks (right scale)",
            data: days.map((d) => value(d, "clicks")),
            borderColor: COLORS.orange,
            backgroundColor: COLORS.orange,
            pointRadius: 3,
            yAxisID: "y1",
            order: 1,
          },
        ],
      },
      options: {
        scales: {
          x: { title: { display: true, text: "day (UTC)" } },
          y: {
            beginAtZero: true,
            title: { display: true, text: "impressions", color: COLORS.blue },
            ticks: { color: COLORS.blue, callback: (v) => F.count(v) },
          },
          y1: {
            beginAtZero: true,
            position: "right",
            grid: { drawOnChartArea: false },
            title: { display: true, text: "clicks", color: COLORS.orange },
            ticks: { color: COLORS.orange, callback: (v) => F.count(v) },
          },
        },
        plugins: {
          legend: { position: "bottom", labels: { sort: (a, b) => a.datasetIndex - b.datasetIndex } },
          annotation: { annotations },
          tooltip: {
            callbacks: {
              title: (items) => {
                const d = days[items[0].dataIndex];
                return `${d}${d === today ? " (today, partial)" : byDate.has(d) ? "" : " (no traffic)"}`;
              },
              label: (c) => `${c.dataset.label.split(" ")[0]}: ${F.count(c.raw)}`,
            },
          },
        },
      },
    });
    host.dataset.days = days.join(",");
    return chart;
  }

  /**
   * What a panel's chart shows, as plain data (the browser test reads it; a canvas has no DOM to
   * query): labels, series, each scale's ticks and title, reference lines and boxes.
   */
  function describe(host) {
    const chart = Chart.getChart(host.querySelector("canvas"));
    if (!chart) return null;
    return {
      labels: chart.data.labels,
      datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data, colors: d.backgroundColor })),
      scales: Object.fromEntries(
        Object.entries(chart.scales).map(([id, scale]) => [
          id,
          {
            ticks: scale.ticks.map((t) => t.value),
            labels: scale.ticks.map((t) => t.label),
            title: scale.options.title?.display ? scale.options.title.text : null,
          },
        ]),
      ),
      annotations: Object.values(chart.options.plugins?.annotation?.annotations ?? {}).map((a) => ({
        type: a.type,
        value: a.value ?? null,
        label: a.label?.content ?? null,
      })),
    };
  }

  window.adpipeCharts = { bars, daily, describe, COLORS };
})();
