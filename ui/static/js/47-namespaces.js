// Namespaces: list, create, delete. Deleting one that still has functions
// is refused by the gateway, and its message is shown.
route(/^#\/namespaces$/, namespacesPage);

function namespacesPage() {
  const name = h("input", { id: "n-name", name: "name", autocomplete: "off", spellcheck: "false", maxlength: "63", required: true, "aria-describedby": "n-name-error" });
  const nameErr = h("p", { class: "field-error", id: "n-name-error" });
  const formErr = h("p", { class: "form-error", id: "n-form-error", role: "alert" });
  const tbody = h("tbody");
  append($main, [
    h("div", { class: "pagehead" }, h("h1", {}, "Namespaces")),
    h("div", { class: "card", style: "padding:0;overflow-x:auto" },
      h("table", { class: "fns", id: "namespaces" }, h("caption", { class: "sr-only" }, "Namespaces"),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))), tbody)),
    h("h2", {}, "Create"),
    h("div", { class: "card" }, h("form", { id: "ns-form", novalidate: true, onsubmit: (e) => { e.preventDefault(); create(); } },
      h("div", { class: "field" }, h("label", { for: "n-name" }, "Name"), name, nameErr), formErr,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "n-submit" }, "Create namespace")))),
  ]);
  load();

  async function load() {
    await refreshNamespaces();
    tbody.replaceChildren(...namespaces.map((n) => h("tr", { "data-ns": n },
      h("th", { scope: "row" }, h("a", { href: `#/ns/${enc(n)}` }, n)),
      h("td", { class: "num" }, h("a", { href: `#/secrets/${enc(n)}` }, "Secrets"), " ",
        confirmButton(`n-delete-${n}`, `Delete namespace ${n}`, async () => {
          await api("DELETE", `/system/namespace/${enc(n)}`);
          if (currentNs() === n) setNs(DEFAULT_NS);
          say(`Deleted namespace ${n}.`);
          load();
        }, formErr)))));
  }

  async function create() {
    nameErr.textContent = formErr.textContent = "";
    const n = name.value.trim();
    if (!NAME_RE.test(n) || n.length > 63) { nameErr.textContent = "Use lower-case letters, digits and '-' (RFC 1123), at most 63 characters."; name.focus(); return; }
    try { await api("POST", `/system/namespace/${enc(n)}`, { name: n }); }
    catch (e) { if (e.status !== 401) formErr.textContent = `Could not create ${n}: ${e.message}`; return; }
    name.value = "";
    say(`Created namespace ${n}.`);
    load();
  }
}
