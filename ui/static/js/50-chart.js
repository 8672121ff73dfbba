// Inline-SVG line charts of a function's stats history, with labelled
// axes, a hover (or arrow-key) readout and three ranges. The gateway keeps
// the history in memory since it started; the charts say where it begins
// rather than drawing what is not there.
const SVG = "http://www.w3.org/2000/svg";
const s = (tag, attrs, ...kids) => {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  el.append(...kids);
  return el;
};

const CHARTS = [
  { id: "chart-rate", title: "Requests per second", series: [["rps", "requests/s", "var(--accent)"], ["errors", "errors/s", "var(--bad)"]], fmt: (v) => fmtNum(v, 2) },
  { id: "chart-latency", title: "Latency", series: [["p50", "p50", "var(--ok)"], ["p99", "p99", "var(--warn)"]], fmt: fmtSec },
  { id: "chart-replicas", title: "Replicas and in-flight", series: [["replicas", "replicas", "var(--accent)"], ["inflight", "in flight", "var(--muted)"]], fmt: (v) => fmtNum(v, 1) },
];

// RANGES: seconds shown, label, x-axis tick spacing, and how often to ask.
const RANGES = {
  "5m": { span: 300, label: "5 min", tick: 60, every: 2000 },
  "1h": { span: 3600, label: "1 h", tick: 900, every: 15000 },
  "24h": { span: 86400, label: "24 h", tick: 6 * 3600, every: 60000 },
};
let chartRange = "5m";
let hoverT = 0; // the time under the pointer, kept across redraws

// chartsPanel is the range switch and the charts, refreshed while shown.
function chartsPanel(ns, name) {
  const box = h("div", { class: "charts", id: "fn-charts" });
  const note = h("p", { class: "hint", id: "charts-note" });
  const btns = Object.entries(RANGES).map(([k, r]) => h("button", { type: "button", id: `range-${k}`, "aria-pressed": String(k === chartRange),
    onclick: () => { chartRange = k; for (const b of btns) b.setAttribute("aria-pressed", String(b === btns[Object.keys(RANGES).indexOf(k)])); last = 0; load(); } }, r.label));
  let last = 0, seq = 0;
  async function load() {
    const rg = chartRange, my = ++seq;
    last = Date.now();
    const d = await getStats(`?name=${enc(name)}&namespace=${enc(ns)}&range=${rg}`);
    if (my !== seq) return; // a newer range was asked for meanwhile
    drawCharts(box, d, rg);
    note.textContent = historyNote(d, rg);
  }
  poll(2000, () => Date.now() - last >= RANGES[chartRange].every - 100 ? load() : null);
  return h("div", {}, h("div", { class: "actions seg", role: "group", "aria-label": "Time range" }, btns), note, box);
}

// historyNote says when the chart has less history than its range.
function historyNote(d, rg) {
  if (!d) return "";
  if (rg !== "5m" && !d.step) return "This gateway keeps only the last 5 minutes of history.";
  if (!d.points || !d.points.length) return rg === "5m" ? "" : "No history at this range yet: the gateway records one point a minute, in memory, since it started.";
  const t0 = d.points[0].t, now = d.points[d.points.length - 1].t;
  if (now - t0 < RANGES[rg].span - 3 * (d.step || 1)) {
    return `History starts at ${clock(t0, true)}: the gateway keeps it in memory since it started${rg === "5m" ? "" : ", one point a minute"}.`;
  }
  return rg === "5m" ? "" : "One point a minute.";
}

function clock(t, secs) {
  return new Date(t * 1000).toLocaleTimeString(undefined, { hour12: false, hour: "2-digit", minute: "2-digit", second: secs ? "2-digit" : undefined });
}

function drawCharts(box, data, rg) {
  if (!data) {
    box.replaceChildren(h("p", { class: "muted" }, statsMissing ? "Charts need the gateway's /system/stats endpoint, which this server does not offer." : "No data yet."));
    return;
  }
  const pts = (data.points || []).slice().sort((a, b) => a.t - b.t);
  // A redraw replaces the charts: keep the keyboard on the one it was on.
  const focused = box.contains(document.activeElement) ? document.activeElement.closest("figure")?.id : "";
  box.replaceChildren(...CHARTS.map((c) => chart(c, pts, RANGES[rg || "5m"])));
  if (focused) document.querySelector(`#${focused} svg`)?.focus({ preventScroll: true });
}

// niceStep is a round step (1, 2 or 5 times a power of ten) that splits
// max into about n intervals.
function niceStep(max, n) {
  const raw = max / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  return [1, 2, 5, 10].map((m) => m * mag).find((st) => st >= raw);
}

function chart(c, pts, rg) {
  const W = 360, H = 170, L = 52, R = 8, T = 10, B = 22;
  const now = pts.length ? pts[pts.length - 1].t : Date.now() / 1000, t0 = now - rg.span;
  const shown = pts.filter((p) => p.t >= t0);
  let max = 0;
  for (const p of shown) for (const [k] of c.series) if (p[k] > max) max = p[k];
  const step = max > 0 ? niceStep(max, 4) : 1, top = max > 0 ? Math.ceil(max / step) * step : 4;
  const x = (t) => L + ((t - t0) / rg.span) * (W - L - R);
  const y = (v) => H - B - ((v || 0) / top) * (H - T - B);
  const grid = [];
  for (let v = 0; v <= (max > 0 ? top : 0) + step / 2; v += step) { // no data: only the zero line
    grid.push(s("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: v ? "grid" : "axis" }),
      s("text", { x: L - 4, y: y(v) + 3, "text-anchor": "end" }, c.fmt(v)));
  }
  for (let t = Math.ceil(t0 / rg.tick) * rg.tick; t <= now; t += rg.tick) {
    grid.push(s("line", { x1: x(t), x2: x(t), y1: T, y2: H - B, class: "grid" }),
      s("text", { x: x(t), y: H - 6, "text-anchor": "middle" }, clock(t)));
  }
  const lines = c.series.map(([k, , color]) => s("polyline", {
    points: shown.map((p) => `${x(p.t).toFixed(1)},${y(p[k]).toFixed(1)}`).join(" "),
    fill: "none", stroke: color, "stroke-width": "1.6", "stroke-linejoin": "round",
  }));
  const last = shown[shown.length - 1] || {};
  const summary = c.series.map(([k, label]) => `${label} now ${c.fmt(last[k])}`).join(", ") + `; peak ${c.fmt(max)}`;
  const cursor = s("line", { y1: T, y2: H - B, class: "cursor", visibility: "hidden" });
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", tabindex: "0",
    "aria-label": `${c.title}, last ${rg.label}: ${summary}. Arrow keys read the values.` }, ...grid, ...lines, cursor);
  const tip = h("div", { class: "tip", role: "status", hidden: true });
  // readout shows the values at the point nearest to time t.
  const readout = (t) => {
    if (!shown.length || !t) { tip.hidden = true; cursor.setAttribute("visibility", "hidden"); return; }
    let i = 0;
    while (i < shown.length - 1 && Math.abs(shown[i + 1].t - t) <= Math.abs(shown[i].t - t)) i++;
    const p = shown[i], px = x(p.t);
    cursor.setAttribute("x1", px); cursor.setAttribute("x2", px); cursor.setAttribute("visibility", "visible");
    tip.replaceChildren(h("strong", {}, clock(p.t, rg.span <= 3600)), ...c.series.map(([k, label, color]) =>
      h("span", {}, h("i", { style: `background:${color}` }), `${label} ${c.fmt(p[k])}`)));
    tip.hidden = false;
    tip.style.left = `${(px / W) * 100}%`;
    tip.classList.toggle("flip", px > W / 2);
    return p.t;
  };
  svg.addEventListener("pointermove", (e) => {
    const r = svg.getBoundingClientRect();
    hoverT = readout(t0 + (((e.clientX - r.left) / r.width) * W - L) / (W - L - R) * rg.span);
  });
  svg.addEventListener("pointerleave", () => { hoverT = 0; readout(0); });
  svg.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    e.preventDefault();
    const i = shown.findIndex((p) => p.t >= (hoverT || now));
    const j = Math.max(0, Math.min(shown.length - 1, (i < 0 ? shown.length - 1 : i) + (e.key === "ArrowLeft" ? -1 : 1)));
    hoverT = readout(shown[j]?.t);
  });
  if (hoverT) queueMicrotask(() => readout(hoverT));
  return h("figure", { id: c.id }, h("figcaption", {}, c.title), h("div", { class: "plot" }, svg, tip),
    h("div", { class: "legend" }, c.series.map(([k, label, color]) =>
      h("span", {}, h("i", { style: `background:${color}` }), `${label} ${c.fmt(last[k])}`))));
}
