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
      h("th", { scope: "col", class: "num" }, "Rate"), h("th", { scope: "col", class: "num" }, "Errors"),
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
      r.status.className = "status " + stateClass(f.status);
      setText(r.image, f.image);
      setText(r.replicas, `${ready} / ${f.replicas}`);
      r.replicas.className = "num " + (ready >= f.replicas ? (f.replicas ? "ok" : "muted") : "warn");
      setText(r.inv, fmtInt(f.invocationCount));
      setText(r.rate, s ? fmtNum(s.rps, 2) + " /s" : "—");
      setText(r.err, s ? fmtNum(s.errors, 2) + " /s" : "—");
      r.err.className = "num" + (s && s.errors > 0 ? " bad" : "");
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

// stateClass colours a function's state (api.StateOf on the gateway).
function stateClass(s) {
  return { "Ready": "ok", "Scaled to zero": "muted", "CrashLoop": "bad", "Failed": "bad" }[s] || "warn";
}

function setText(el, t) { if (el.textContent !== t) el.textContent = t; }
