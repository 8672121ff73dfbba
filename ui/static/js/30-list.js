// The function list of one namespace, updated live.
route(/^#\/ns\/([^/]+)$/, listPage);

function listPage(ns) {
  setNs(ns);
  const note = h("p", { class: "hint", id: "stats-note" });
  const tbody = h("tbody");
  const table = h("table", { class: "fns", id: "functions" },
    h("caption", { class: "sr-only" }, `Functions in namespace ${ns}`),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Image"),
      h("th", { scope: "col", class: "num" }, "Replicas"), h("th", { scope: "col", class: "num" }, "Invocations"),
      h("th", { scope: "col", class: "num" }, "Rate"), h("th", { scope: "col", class: "num", title: "Share of calls answered 5xx over the last 5 minutes" }, "Errors"),
      h("th", { scope: "col", class: "num" }, "p50 / p99"))),
    tbody);
  const empty = h("div", { class: "empty", hidden: true },
    h("p", {}, `No functions in ${ns} yet.`), h("a", { class: "button primary", href: `#/deploy/${enc(ns)}` }, "Deploy a function"));
  const count = h("span", { class: "muted", id: "fn-count" });
  append($main, [
    h("div", { class: "pagehead" }, h("h1", {}, "Functions ", count),
      h("a", { class: "button primary", href: `#/deploy/${enc(ns)}` }, "Deploy")),
    h("p", { class: "hint" }, `Namespace `, h("strong", {}, ns), ` · live, refreshed every 1.5 s`),
    h("div", { class: "card", style: "padding:0;overflow-x:auto" }, table, empty),
    note,
  ]);
  const rows = new Map();
  let lastStats = null;
  poll(1500, async () => {
    // The list renders as soon as it arrives; rates follow when the stats
    // answer (they are fetched at the same time).
    const statsP = getStats("").catch(() => null);
    const fns = await api("GET", `/system/functions?namespace=${enc(ns)}`);
    fill(fns, lastStats);
    lastStats = await statsP;
    fill(fns, lastStats);
  });
  function fill(fns, stats) {
    const list = (fns || []).slice().sort((a, b) => a.name.localeCompare(b.name));
    count.textContent = `(${list.length})`;
    empty.hidden = list.length > 0;
    table.hidden = list.length === 0;
    note.textContent = statsMissing ? "Rates and latency need the gateway's /system/stats endpoint, which this server does not offer." : "";
    const seen = new Set();
    for (const f of list) {
      seen.add(f.name);
      let r = rows.get(f.name);
      if (!r) { r = listRow(ns, f.name); rows.set(f.name, r); }
      const s = stats && stats.functions ? stats.functions[`${f.name}.${f.namespace || ns}`] : null;
      const ready = f.availableReplicas ?? f.readyReplicas ?? 0;
      setText(r.status, f.status || "");
      r.status.className = "state " + stateClass(f.status);
      setText(r.image, f.image);
      setText(r.replicas, `${ready} / ${f.replicas}`);
      r.replicas.className = "num " + (ready >= f.replicas ? (f.replicas ? "ok" : "muted") : "warn");
      setText(r.inv, fmtInt(f.invocationCount));
      setText(r.rate, s ? fmtNum(s.rps, 2) + " /s" : "—");
      const e = errorShare(s);
      setText(r.err, e.text);
      r.err.title = e.title;
      r.err.className = "num" + (e.bad ? " bad" : "");
      setText(r.lat, s && (s.p50 || s.p99) ? `${fmtSec(s.p50)} / ${fmtSec(s.p99)}` : "—");
      tbody.append(r.tr); // re-appending keeps the sorted order without rebuilding
    }
    for (const [name, r] of rows) if (!seen.has(name)) { r.tr.remove(); rows.delete(name); }
    // The benchmark reads this mark: time from navigation to a usable list.
    if (!performance.getEntriesByName("ferry:list").length) performance.mark("ferry:list");
  }
}

function listRow(ns, name) {
  const td = (label, cls) => h("td", { "data-label": label, class: cls || "" });
  const r = { status: td("Status"), image: td("Image", "mono"), replicas: td("Replicas", "num"), inv: td("Invocations", "num"),
    rate: td("Rate", "num"), err: td("Errors", "num"), lat: td("p50 / p99", "num") };
  r.tr = h("tr", { "data-name": name },
    h("th", { scope: "row", "data-label": "Name" }, h("a", { href: fnPath(ns, name) }, name)),
    r.status, r.image, r.replicas, r.inv, r.rate, r.err, r.lat);
  return r;
}

// errorShare is the share of calls that failed (5xx) over the gateway's
// window (5 minutes), which a one-second rate would hide between bursts.
// Gateways without the window counts give the last second's error rate.
function errorShare(s) {
  if (!s) return { text: "—", title: "" };
  if (s.window == null) return { text: fmtNum(s.errors, 2) + " /s", title: "errors in the last second", bad: s.errors > 0 };
  const span = s.window >= 90 ? `${Math.round(s.window / 60)} min` : `${s.window} s`;
  if (!s.requests) return { text: "0 %", title: `no calls in the last ${span}` };
  const pct = (100 * s.failed) / s.requests;
  return { text: (pct > 0 && pct < 0.1 ? "<0.1" : fmtNum(pct, 1)) + " %", title: `${fmtInt(s.failed)} of ${fmtInt(s.requests)} calls failed in the last ${span}`, bad: s.failed > 0 };
}

// stateClass colours a function's state (api.StateOf on the gateway).
function stateClass(s) {
  return { "Ready": "ok", "Scaled to zero": "muted", "CrashLoop": "bad", "Failed": "bad" }[s] || "warn";
}

function setText(el, t) { if (el.textContent !== t) el.textContent = t; }
