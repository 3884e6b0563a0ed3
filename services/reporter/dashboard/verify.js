// The verification badge (docs/verifier.md): "exact as of 12:04:31" when the last verification
// found PostgreSQL and ClickHouse equal, "repairing 37 rows in impressions" while it repairs,
// "drift: …" when the last run could not make them equal. Reads /dashboard/api/verify.
(() => {
  const POLL_MS = 3000;
  const el = document.getElementById("verify-badge");
  if (!el) return;
  const style = document.createElement("style");
  style.textContent = `
    .verify-badge { margin-left: .75rem; padding: .1rem .5rem; border-radius: .75rem; font-size: .85em; border: 1px solid currentColor; }
    .verify-badge.exact { color: #1a7f37; }
    .verify-badge.repairing { color: #9a6700; }
    .verify-badge.drift { color: #cf222e; }`;
  document.head.appendChild(style);

  const time = window.adpipeFormat.time;

  /** Text and state of the badge for a GET /verify answer. */
  function describe(s) {
    if (!s || s.enabled === false)
      return { text: "verification off", state: "muted", title: s?.reason ?? "" };
    if (s.phase === "repairing" && s.repairing)
      return { text: `repairing ${s.repairing.rows} rows in ${s.repairing.table}`, state: "repairing" };
    if (s.phase === "repairing") return { text: "repairing reports", state: "repairing" };
    const last = s.lastRun;
    if (last && !last.clean) {
      const drift =
        (s.tables ?? []).reduce((n, t) => n + (t.driftFound ?? 0), 0) + (s.reports?.driftFound ?? 0);
      const failed = (s.tables ?? []).filter((t) => t.error).map((t) => t.table);
      const why = failed.length ? `check failed for ${failed.join(", ")}` : `${drift} differences left`;
      return { text: `not exact at ${time(last.finishedAt)}: ${why}`, state: "drift" };
    }
    if (s.exactAsOf) {
      const checking = s.phase === "checking" ? " (checking…)" : "";
      return { text: `exact as of ${time(s.exactAsOf)}${checking}`, state: "exact" };
    }
    return { text: s.phase === "checking" ? "verifying…" : "not verified yet", state: "muted" };
  }

  async function poll() {
    try {
      const res = await fetch("/dashboard/api/verify");
      const d = describe(await res.json());
      el.textContent = d.text;
      el.className = `verify-badge ${d.state}`;
      el.dataset.state = d.state;
      if (d.title) el.title = d.title;
    } catch {
      el.textContent = "verification: no answer";
      el.className = "verify-badge muted";
    }
  }
  poll();
  setInterval(poll, POLL_MS);
})();
