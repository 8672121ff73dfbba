// Secrets of one namespace: names only (the gateway never returns values),
// create, replace a value, delete. Values are typed into a password field
// and cleared from the page once sent.
route(/^#\/secrets\/([^/]+)$/, secretsPage);

function secretsPage(ns) {
  setNs(ns);
  const name = h("input", { id: "s-name", name: "name", autocomplete: "off", spellcheck: "false", maxlength: "63", required: true, "aria-describedby": "s-name-error" });
  const value = h("input", { id: "s-value", name: "value", type: "password", autocomplete: "new-password", required: true, "aria-describedby": "s-value-error" });
  const nameErr = h("p", { class: "field-error", id: "s-name-error" }), valueErr = h("p", { class: "field-error", id: "s-value-error" });
  const formErr = h("p", { class: "form-error", id: "s-form-error", role: "alert" });
  const tbody = h("tbody");
  const empty = h("p", { class: "muted", id: "s-empty", hidden: true }, `No secrets in ${ns}.`);
  let names = [];
  const form = h("form", { id: "secret-form", novalidate: true, onsubmit: (e) => { e.preventDefault(); save(); } },
    h("div", { class: "row" },
      h("div", { class: "field" }, h("label", { for: "s-name" }, "Name"), name, nameErr),
      h("div", { class: "field" }, h("label", { for: "s-value" }, "Value"), value, valueErr)),
    formErr,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "s-submit" }, "Create secret")));
  // The button says what saving will do: create a new secret or replace
  // the value of the one of that name.
  const label = () => { form.querySelector("#s-submit").textContent = names.includes(name.value.trim()) ? "Replace value" : "Create secret"; };
  name.addEventListener("input", label);
  append($main, [
    h("div", { class: "pagehead" }, h("h1", {}, "Secrets")),
    h("p", { class: "hint" }, "Namespace ", h("strong", {}, ns), " · functions that name a secret read it from /var/openfaas/secrets/NAME. Values are never shown."),
    h("div", { class: "card", style: "padding:0;overflow-x:auto" },
      h("table", { class: "fns", id: "secrets" }, h("caption", { class: "sr-only" }, `Secrets in namespace ${ns}`),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))), tbody), empty),
    h("h2", {}, "Create or replace"),
    h("div", { class: "card" }, form),
  ]);
  load();

  async function load() {
    try { names = ((await api("GET", `/system/secrets?namespace=${enc(ns)}`)) || []).map((s) => s.name).sort(); }
    catch (e) { if (e.status !== 401) formErr.textContent = "Could not list secrets: " + e.message; return; }
    empty.hidden = names.length > 0;
    tbody.replaceChildren(...names.map((n) => h("tr", { "data-secret": n },
      h("th", { scope: "row", class: "mono" }, n),
      h("td", { class: "num" }, h("button", { type: "button", class: "link", id: `s-edit-${n}`, onclick: () => { name.value = n; label(); value.focus(); } }, "Replace value"), " ",
        confirmButton(`s-delete-${n}`, `Delete ${n}`, async () => {
          await api("DELETE", "/system/secrets", { name: n, namespace: ns });
          say(`Deleted secret ${n}.`);
          load();
        }, formErr)))));
  }

  async function save() {
    for (const el of [nameErr, valueErr, formErr]) el.textContent = "";
    const n = name.value.trim();
    if (!NAME_RE.test(n) || n.length > 63) { nameErr.textContent = "Use lower-case letters, digits and '-' (RFC 1123), at most 63 characters."; name.focus(); return; }
    if (!value.value) { valueErr.textContent = "Give the secret a value."; value.focus(); return; }
    const exists = names.includes(n);
    try {
      await api(exists ? "PUT" : "POST", "/system/secrets", { name: n, namespace: ns, value: value.value });
    } catch (e) {
      if (e.status !== 401) formErr.textContent = `Could not ${exists ? "replace" : "create"} ${n}: ${e.message}`;
      return;
    }
    value.value = ""; name.value = ""; label();
    say(`${exists ? "Replaced" : "Created"} secret ${n}.`);
    load();
  }
}

// confirmButton is a delete button that asks once more in place: the
// first press turns it into "Confirm", the second runs act.
function confirmButton(id, label, act, errEl) {
  const b = h("button", { type: "button", class: "danger", id, "aria-label": label }, "Delete");
  let armed = false, timer = 0;
  b.addEventListener("click", async () => {
    if (!armed) {
      armed = true; b.textContent = "Confirm delete"; b.setAttribute("aria-label", label + ": confirm");
      timer = setTimeout(() => { armed = false; b.textContent = "Delete"; b.setAttribute("aria-label", label); }, 5000);
      return;
    }
    clearTimeout(timer); b.disabled = true;
    try { await act(); } catch (e) { b.disabled = false; if (e.status !== 401) errEl.textContent = e.message; }
  });
  return b;
}
