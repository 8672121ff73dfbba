// One function: details, live chart, scale, delete, invoke and logs.
route(/^#\/fn\/([^/]+)\/([^/]+)$/, fnPage);

function fnPage(ns, name) {
  setNs(ns);
  const details = h("dl", { class: "kv", id: "fn-details" });
  const config = h("div", { id: "fn-config" });
  const conds = h("div", { id: "fn-conditions" });
  const charts = h("div", { class: "charts", id: "fn-charts" });
  const replicasIn = h("input", { id: "scale-replicas", type: "number", min: "0", max: "1000", step: "1", inputmode: "numeric", style: "width:7rem" });
  const scaleBtn = h("button", { type: "submit", id: "scale-submit" }, "Scale");
  const scaleErr = h("p", { class: "form-error", id: "scale-error" });
  const scaleHint = h("p", { class: "hint", id: "scale-hint" });
  let loaded = false;

  const scaleForm = h("form", { class: "actions", id: "scale-form", onsubmit: async (e) => {
    e.preventDefault();
    const n = Number(replicasIn.value);
    if (!Number.isInteger(n) || n < 0) { scaleErr.textContent = "Replicas must be a whole number, 0 or more."; replicasIn.setAttribute("aria-invalid", "true"); replicasIn.focus(); return; }
    replicasIn.removeAttribute("aria-invalid"); scaleErr.textContent = "";
    scaleBtn.disabled = true;
    try {
      await api("POST", `/system/scale-function/${enc(name)}?namespace=${enc(ns)}`, { serviceName: name, replicas: n, namespace: ns });
      say(`Scaling ${name} to ${n} replica${n === 1 ? "" : "s"}.`);
      refresh();
    } catch (err) { if (err.status !== 401) scaleErr.textContent = "Could not scale: " + err.message; }
    finally { scaleBtn.disabled = false; }
  } },
    h("div", { class: "field" }, h("label", { for: "scale-replicas" }, "Desired replicas"), replicasIn), scaleBtn);

  append($main, [
    h("p", { class: "crumb" }, h("a", { href: `#/ns/${enc(ns)}` }, `← Functions in ${ns}`)),
    h("div", { class: "pagehead" }, h("h1", {}, name),
      h("a", { class: "button", href: `#/edit/${enc(ns)}/${enc(name)}`, id: "edit-link" }, "Edit"),
      h("button", { type: "button", class: "danger", id: "delete-open", onclick: () => confirmDelete(ns, name) }, "Delete…")),
    h("div", { class: "grid" },
      h("section", { class: "card", "aria-labelledby": "h-details" }, h("h2", { id: "h-details" }, "Details"), details, conds),
      h("section", { class: "card", "aria-labelledby": "h-scale" }, h("h2", { id: "h-scale" }, "Replicas"),
        h("p", { id: "replica-state", "aria-live": "polite" }), scaleForm, scaleErr, scaleHint)),
    h("section", { class: "card", "aria-labelledby": "h-charts" }, h("h2", { id: "h-charts" }, "Last 5 minutes"), charts),
    h("section", { class: "card", "aria-labelledby": "h-invoke" }, h("h2", { id: "h-invoke" }, "Invoke"), invokePanel(ns, name)),
    h("section", { class: "card", "aria-labelledby": "h-logs" }, h("h2", { id: "h-logs" }, "Logs"), logsPanel(ns, name)),
    h("section", { class: "card", "aria-labelledby": "h-config" }, h("h2", { id: "h-config" }, "Configuration"), config),
  ]);

  async function refresh() {
    let f;
    try { f = await api("GET", `/system/function/${enc(name)}?namespace=${enc(ns)}`); }
    catch (e) {
      if (e.status === 404) { details.replaceChildren(h("p", { class: "bad" }, `Function ${name} does not exist in ${ns} (it may have been deleted).`)); return; }
      throw e;
    }
    const ready = f.availableReplicas ?? f.readyReplicas ?? 0;
    details.replaceChildren(...kv([
      ["Image", h("span", { class: "mono" }, f.image)],
      ["Namespace", f.namespace || ns],
      ["Process", f.envProcess ? h("code", {}, f.envProcess) : "—"],
      ["Status", h("span", { class: stateClass(f.status), id: "status-value" }, f.status || "")],
      ["Replicas", h("span", { class: ready >= f.replicas ? "ok" : "warn", id: "replicas-value" }, `${ready} ready / ${f.replicas} desired`)],
      ["Invocations", fmtInt(f.invocationCount)],
      ["Created", f.createdAt ? h("time", { datetime: f.createdAt, title: f.createdAt }, fmtAgo(f.createdAt)) : "—"],
      f.usage ? ["Usage", `${fmtNum(f.usage.cpu, 3)} CPU · ${fmtBytes(f.usage.totalMemoryBytes)}`] : null,
      f.annotations && f.annotations["com.ferryfaas.artifact"] ? ["Artifact", h("span", { class: "mono" }, f.annotations["com.ferryfaas.artifact"].slice(0, 19) + "…")] : null,
    ]));
    document.getElementById("replica-state").textContent = `${ready} of ${f.replicas} replica${f.replicas === 1 ? "" : "s"} ready.`;
    if (!loaded || document.activeElement !== replicasIn) replicasIn.value = f.replicas;
    scaleHint.textContent = f.autoscaler ? "The autoscaler manages this function (com.openfaas.scale.* labels) and may change a manual setting." : "";
    loaded = true;
    conds.replaceChildren(...conditionsView(f));
    config.replaceChildren(...configView(f));
  }
  poll(2000, refresh);
  poll(2000, async () => {
    const s = await getStats(`?name=${enc(name)}&namespace=${enc(ns)}`);
    drawCharts(charts, s);
  });
}

function kv(pairs) {
  return pairs.filter(Boolean).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]);
}

function mapView(title, m, id) {
  const keys = Object.keys(m || {}).sort();
  return h("div", { id }, h("h3", { class: "label" }, title),
    keys.length ? h("dl", { class: "kv" }, kv(keys.map((k) => [h("span", { class: "mono" }, k), h("span", { class: "mono" }, m[k])]))) : h("p", { class: "muted" }, "none"));
}

function configView(f) {
  const res = (r) => r && (r.memory || r.cpu) ? [r.memory && `memory ${r.memory}`, r.cpu && `cpu ${r.cpu}`].filter(Boolean).join(", ") : "none";
  return [h("div", { class: "grid" },
    mapView("Environment", f.envVars, "cfg-env"),
    h("div", { id: "cfg-secrets" }, h("h3", { class: "label" }, "Secrets"),
      h("p", { class: "hint" }, "Mounted under /var/openfaas/secrets/. Values are never shown."),
      (f.secrets || []).length ? h("ul", {}, f.secrets.map((s) => h("li", { class: "mono" }, s))) : h("p", { class: "muted" }, "none")),
    mapView("Labels", f.labels, "cfg-labels"),
    mapView("Annotations", f.annotations, "cfg-annotations"),
    h("div", {}, h("h3", { class: "label" }, "Resources"),
      h("dl", { class: "kv" }, kv([["Limits", res(f.limits)], ["Requests", res(f.requests)],
        ["Read-only root", f.readOnlyRootFilesystem ? "yes" : "no"]]))),
  )];
}

function conditionsView(f) {
  const out = [];
  if (f.conditions && f.conditions.length) {
    out.push(h("h3", { class: "label" }, "Conditions"), h("ul", { id: "fn-conds" }, f.conditions.map((c) =>
      h("li", {}, h("span", { class: "pill " + (c.status === "True" ? "ok" : c.status === "False" ? "bad" : "warn") }, `${c.type}: ${c.status}`), " ",
        c.reason ? h("strong", {}, c.reason + " ") : null, c.message || ""))));
  }
  const a = f.autoscaler;
  if (a) {
    out.push(h("h3", { class: "label" }, "Autoscaler"), h("p", { id: "fn-autoscaler" },
      `${a.from} → ${a.to} replicas (${fmtAgo(a.time)}): ${a.reason || ""}`,
      a.observed != null ? ` · observed ${fmtNum(a.observed, 2)}` : ""));
  }
  return out;
}

function confirmDelete(ns, name) {
  const err = h("p", { class: "form-error", role: "alert" });
  const dlg = h("dialog", { id: "delete-dialog", "aria-labelledby": "delete-h" },
    h("form", { method: "dialog", onsubmit: async (e) => {
      if (e.submitter && e.submitter.value === "cancel") return;
      e.preventDefault();
      const btn = dlg.querySelector("#delete-confirm"); btn.disabled = true;
      try {
        await api("DELETE", "/system/functions", { functionName: name, namespace: ns });
        dlg.close(); dlg.remove();
        say(`Deleted ${name}.`);
        location.hash = `#/ns/${enc(ns)}`;
      } catch (ex) { btn.disabled = false; if (ex.status !== 401) err.textContent = "Could not delete: " + ex.message; }
    } },
      h("h2", { id: "delete-h" }, `Delete ${name}?`),
      h("p", {}, `This stops every replica of ${name} in ${ns} and removes it. Calls to it will fail with 404.`),
      err,
      h("div", { class: "actions" },
        h("button", { value: "cancel", id: "delete-cancel", formnovalidate: true }, "Cancel"),
        h("button", { value: "delete", class: "danger solid", id: "delete-confirm" }, "Delete"))));
  dlg.addEventListener("close", () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  dlg.querySelector("#delete-cancel").focus();
}
