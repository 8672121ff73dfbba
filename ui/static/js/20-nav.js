// The header: links, namespace switcher and sign-out. On a phone it stays
// one row: brand, namespace switcher and a Menu button that opens the
// links and sign-out below it.
const $nav = document.getElementById("nav");
let namespaces = [DEFAULT_NS];

function buildNav() {
  // Switching namespace keeps the page kind: secrets stay secrets.
  const sel = h("select", { id: "ns-switch", onchange: (e) => {
    setNs(e.target.value);
    location.hash = `#/${location.hash.startsWith("#/secrets/") ? "secrets" : "ns"}/${enc(e.target.value)}`;
  } });
  const menu = h("button", { type: "button", id: "nav-menu", "aria-expanded": "false", "aria-controls": "nav-links",
    onclick: () => setMenu(menu.getAttribute("aria-expanded") !== "true") }, "Menu");
  $nav.replaceChildren(
    h("div", { class: "links", id: "nav-links" },
      h("a", { href: `#/ns/${enc(currentNs())}`, id: "nav-functions", onclick: (e) => { e.currentTarget.href = `#/ns/${enc(currentNs())}`; } }, "Functions"),
      h("a", { href: "#/deploy", id: "nav-deploy" }, "Deploy"),
      h("a", { href: `#/secrets/${enc(currentNs())}`, id: "nav-secrets", onclick: (e) => { e.currentTarget.href = `#/secrets/${enc(currentNs())}`; } }, "Secrets"),
      h("a", { href: "#/namespaces", id: "nav-namespaces" }, "Namespaces"),
      h("button", { type: "button", id: "logout", onclick: () => { sessionStorage.removeItem(boot.key); sessionStorage.setItem("ferry.note", "Signed out."); location.replace("/ui/login"); } }, "Sign out")),
    h("span", { class: "spacer" }),
    h("label", { for: "ns-switch", class: "label" }, "Namespace"), sel,
    menu,
  );
  $nav.hidden = false;
  fillNs();
  refreshNamespaces();
}

function setMenu(open) {
  document.getElementById("nav-menu")?.setAttribute("aria-expanded", String(open));
  $nav.classList.toggle("open", open);
}

function fillNs() {
  const sel = document.getElementById("ns-switch");
  if (!sel) return;
  const ns = currentNs();
  const all = namespaces.includes(ns) ? namespaces : [...namespaces, ns];
  sel.replaceChildren(...all.map((n) => h("option", { value: n, selected: n === ns }, n)));
}

async function refreshNamespaces() {
  try {
    const list = await api("GET", "/system/namespaces");
    if (Array.isArray(list) && list.length) namespaces = list.slice().sort();
    if (!sessionStorage.getItem("ferry.ns") && !namespaces.includes(DEFAULT_NS)) setNs(namespaces[0]);
    fillNs();
  } catch { }
}

function markNav(hash) {
  for (const a of $nav.querySelectorAll("a")) {
    const on = (a.id === "nav-deploy" && hash.startsWith("#/deploy")) || (a.id === "nav-functions" && (hash.startsWith("#/ns/") || hash.startsWith("#/fn"))) ||
      (a.id === "nav-secrets" && hash.startsWith("#/secrets")) || (a.id === "nav-namespaces" && hash.startsWith("#/namespaces"));
    if (on) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  setMenu(false);
  fillNs();
}
