// Operations panel (docs/operations.md): per table, whether an operator paused it (extractor
// POST /pause) and since when, and its freshness, commit in PostgreSQL → visible in ClickHouse
// (the loader's newest batch). Self-contained: it reads GET /dashboard/api/pipeline every 5 s
// (its `tables[].paused_since` and `freshness_seconds`) and writes into #operations only.
(() => {
  const body = document.getElementById("operations");
  if (!body) return;

  const since = (iso) => {
    const minutes = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60000));
    return `paused since ${new Date(iso).toLocaleString()} (${minutes} min)`;
  };
  const seconds = (s) => (s === null || s === undefined ? "–" : `${Number(s).toFixed(s < 10 ? 2 : 0)} s`);

  function row(t) {
    const tr = document.createElement("tr");
    tr.dataset.table = t.table;
    const name = document.createElement("td");
    name.textContent = t.table;
    const state = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = t.paused_since ? "badge warn" : "badge ok";
    badge.dataset.testid = `paused-${t.table}`;
    badge.textContent = t.paused_since ? since(t.paused_since) : "flowing";
    state.append(badge);
    const fresh = document.createElement("td");
    fresh.className = "num";
    fresh.textContent = seconds(t.freshness_seconds);
    tr.append(name, state, fresh);
    return tr;
  }

  async function refresh() {
    try {
      const res = await fetch("/dashboard/api/pipeline");
      if (!res.ok) return;
      const state = await res.json();
      body.replaceChildren(...(state.tables ?? []).map(row));
    } catch {
      // The next refresh tries again; the main panels say when the reporter is unreachable.
    }
  }

  refresh();
  setInterval(refresh, 5000);
})();
