// One way to write every number, time and status on the page (docs/dashboard.md, "Formats"):
// app.js, charts.js, pacing.js and verify.js all use these. Money comes from the API already
// rounded to the cent (docs/kpis.md, "Money and rounding"); here it is only formatted.
(() => {
  /** `?currency=EUR` (ISO 4217) in the address, US dollars by default. */
  const currency = new URLSearchParams(location.search).get("currency")?.toUpperCase() || "USD";
  const moneyFormat = (() => {
    try {
      return new Intl.NumberFormat("en-US", { style: "currency", currency });
    } catch {
      return new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
    }
  })();
  const missing = (x) => x === null || x === undefined || Number.isNaN(Number(x));
  const STATUS = {
    on_track: "on track",
    under: "under plan",
    over: "over plan",
    ok: "ok",
    warning: "80 % used",
    exhausted: "budget spent",
    active: "active",
    scheduled: "scheduled",
    ended: "ended",
    unscheduled: "no dates",
    invalid: "end before start",
  };
  window.adpipeFormat = {
    /** 12,345 */
    count: (n) => (missing(n) ? "–" : Number(n).toLocaleString("en")),
    /** $1,234.50 */
    money: (x) => (missing(x) ? "–" : moneyFormat.format(Number(x))),
    /** A fraction as a percentage: 0.0152 → 1.52 % */
    pct: (x, digits = 2) => (missing(x) ? "–" : `${(Number(x) * 100).toFixed(digits)} %`),
    /** A value already in percent: 45.6 → 45.6 % */
    percent: (x) => (missing(x) ? "–" : `${Number(x).toFixed(1)} %`),
    /** A ratio to plan: 0.93× */
    ratio: (x) => (missing(x) ? "–" : `${Number(x).toFixed(2)}×`),
    /** Every time on the page: 24-hour local time, 16:02:33. */
    time: (at) =>
      missing(Date.parse(at)) ? "–" : new Date(at).toLocaleTimeString("en-GB", { hour12: false }),
    /** A status code in words (on_track → "on track"); null: "not started". */
    status: (s) =>
      s === null || s === undefined ? "not started" : (STATUS[s] ?? String(s).replaceAll("_", " ")),
    /** Names repeat (two "Campaign_1_1" in two batches): the id tells them apart. */
    campaign: (r) => `${r.campaign_name} #${r.campaign_id}`,
    advertiser: (r) => `${r.advertiser_name ?? "no advertiser"} #${r.advertiser_id}`,
  };
})();
