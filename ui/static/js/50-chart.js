// Inline-SVG line charts of the per-second stats series.
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

function drawCharts(box, data) {
  if (!data) {
    box.replaceChildren(h("p", { class: "muted" }, statsMissing ? "Charts need the gateway's /system/stats endpoint, which this server does not offer." : "No data yet."));
    return;
  }
  const pts = (data.points || []).slice().sort((a, b) => a.t - b.t);
  box.replaceChildren(...CHARTS.map((c) => chart(c, pts)));
}

function chart(c, pts) {
  const W = 300, H = 120, P = 4, now = pts.length ? pts[pts.length - 1].t : Date.now() / 1000, t0 = now - 300;
  let max = 0;
  for (const p of pts) for (const [k] of c.series) if (p[k] > max) max = p[k];
  const top = max > 0 ? max * 1.15 : 1;
  const x = (t) => P + ((t - t0) / 300) * (W - 2 * P);
  const y = (v) => H - 14 - ((v || 0) / top) * (H - 28);
  const lines = c.series.map(([k, , color]) => s("polyline", {
    points: pts.filter((p) => p.t >= t0).map((p) => `${x(p.t).toFixed(1)},${y(p[k]).toFixed(1)}`).join(" "),
    fill: "none", stroke: color, "stroke-width": "1.6", "vector-effect": "non-scaling-stroke", "stroke-linejoin": "round",
  }));
  const last = pts[pts.length - 1] || {};
  const summary = c.series.map(([k, label]) => `${label} now ${c.fmt(last[k])}`).join(", ") + `; peak ${c.fmt(max)}`;
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": `${c.title}, last 5 minutes: ${summary}` },
    s("line", { x1: P, x2: W - P, y1: y(0), y2: y(0), stroke: "var(--line)" }),
    s("line", { x1: P, x2: W - P, y1: y(max), y2: y(max), stroke: "var(--line)", "stroke-dasharray": "3 3" }),
    s("text", { x: P + 2, y: 10 }, "peak " + c.fmt(max)),
    s("text", { x: P + 2, y: H - 2 }, "−5 min"),
    s("text", { x: W - P - 2, y: H - 2, "text-anchor": "end" }, "now"),
    ...lines);
  return h("figure", { id: c.id }, h("figcaption", {}, c.title), svg,
    h("div", { class: "legend" }, c.series.map(([k, label, color]) =>
      h("span", {}, h("i", { style: `background:${color}` }), `${label} ${c.fmt(last[k])}`))));
}
