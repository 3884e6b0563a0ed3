// Pacing panel (docs/dashboard.md): per campaign and per advertiser, cost against the plan to
// date (by the clock), the cost projected to the end of the flight and the delivery flag, from
// GET /kpis/pacing and GET /kpis/pacing/advertisers. Self-contained: it only reads the page's
// advertiser filter (#f-advertiser) and writes into #pacing-table.
(() => {
  const byId = (id) => document.getElementById(id);
  const { money, ratio, percent, status } = window.adpipeFormat;
  const FLAG_CLASS = { on_track: "ok", under: "warn", over: "bad" };

  function cell(text, numeric = false) {
    const td = document.createElement("td");
    if (numeric) td.className = "num";
    td.textContent = text;
    return td;
  }

  function flag(delivery) {
    const td = document.createElement("td");
    const span = document.createElement("span");
    span.className = `badge ${FLAG_CLASS[delivery] ?? "none"}`;
    span.dataset.delivery = delivery ?? "";
    span.textContent = status(delivery);
    td.append(span);
    return td;
  }

  function table(headers, rows) {
    const t = document.createElement("table");
    const head = document.createElement("tr");
    for (const [h, numeric] of headers) {
      const th = document.createElement("th");
      th.textContent = h;
      if (numeric) th.className = "num";
      head.append(th);
    }
    const thead = document.createElement("thead");
    thead.append(head);
    const tbody = document.createElement("tbody");
    tbody.append(...rows);
    t.append(thead, tbody);
    return t;
  }

  const HEAD = [
    ["", false],
    ["budget", true],
    ["planned to date", true],
    ["cost", true],
    ["pacing", true],
    ["projected", true],
    ["projected %", true],
    ["delivery", false],
  ];
  const figures = (r) => [
    cell(money(r.budget), true),
    cell(money(r.planned_to_date), true),
    cell(money(r.cost), true),
    cell(ratio(r.pacing), true),
    cell(money(r.projected_spend), true),
    cell(percent(r.projected_delivery_pct), true),
    flag(r.delivery),
  ];

  async function load() {
    const target = byId("pacing-table");
    if (!target) return;
    const advertiser = byId("f-advertiser")?.value ?? "";
    const q = advertiser ? `?advertiser_id=${encodeURIComponent(advertiser)}` : "";
    try {
      const [campaigns, advertisers] = await Promise.all(
        [`/kpis/pacing${q}`, `/kpis/pacing/advertisers${q}`].map(async (path) => {
          const res = await fetch(path);
          if (!res.ok) throw new Error(`${path}: ${res.status}`);
          return res.json();
        }),
      );
      const rows = [];
      for (const a of advertisers) {
        const tr = document.createElement("tr");
        tr.className = "pacing-advertiser";
        tr.append(
          cell(`${window.adpipeFormat.advertiser(a)} (${a.paced_campaigns} of ${a.campaigns} started)`),
        );
        tr.append(...figures(a));
        rows.push(tr);
        for (const c of campaigns.filter((x) => x.advertiser_id === a.advertiser_id)) {
          const row = document.createElement("tr");
          row.append(
            cell(
              `  ${window.adpipeFormat.campaign(c)} (${Number(c.elapsed_days).toFixed(1)} of ${c.days_total} days)`,
            ),
            ...figures(c),
          );
          rows.push(row);
        }
      }
      target.replaceChildren(table(HEAD, rows));
    } catch (err) {
      const p = document.createElement("p");
      p.className = "err";
      p.textContent = `pacing: ${err.message}`;
      target.replaceChildren(p);
    }
  }

  byId("f-advertiser")?.addEventListener("change", load);
  // Reloaded when the reports change (app.js relays the reporter's live `reports` event).
  window.addEventListener("adpipe:reports", load);
  load();
})();
