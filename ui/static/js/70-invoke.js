// The invoke panel. Calls go to /function/NAME.NS/PATH without the
// portal's credentials (credentials: "omit"): a function must never see
// the admin password.
function invokePanel(ns, name) {
  const id = (x) => `inv-${x}`;
  const method = h("select", { id: id("method") }, ["GET", "POST", "PUT", "PATCH", "DELETE"].map((m) => h("option", { value: m, selected: m === "POST" }, m)));
  const path = h("input", { id: id("path"), value: "/", autocomplete: "off", spellcheck: "false" });
  const headers = h("textarea", { id: id("headers"), rows: "2", placeholder: "Content-Type: text/plain", spellcheck: "false" });
  const body = h("textarea", { id: id("body"), rows: "4", spellcheck: "false" });
  const btn = h("button", { type: "submit", class: "primary", id: id("submit") }, "Invoke");
  const err = h("p", { class: "form-error", id: id("error") });
  const out = h("div", { id: id("result"), "aria-live": "polite" });
  let blobUrl = "";
  onLeave(() => blobUrl && URL.revokeObjectURL(blobUrl));

  const form = h("form", { id: "invoke-form", onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = "";
    const hdrs = new Headers();
    for (const [i, line] of headers.value.split("\n").entries()) {
      if (!line.trim()) continue;
      const c = line.indexOf(":");
      try { if (c <= 0) throw 0; hdrs.append(line.slice(0, c).trim(), line.slice(c + 1).trim()); }
      catch { err.textContent = `Header line ${i + 1} must look like "Name: value".`; headers.setAttribute("aria-invalid", "true"); headers.focus(); return; }
    }
    headers.removeAttribute("aria-invalid");
    let p = path.value.trim() || "/";
    if (!p.startsWith("/")) p = "/" + p;
    const m = method.value;
    btn.disabled = true; out.replaceChildren(h("p", { class: "muted" }, "Calling…"));
    const t0 = performance.now();
    try {
      const r = await fetch(`/function/${enc(name)}.${enc(ns)}${p}`, { method: m, headers: hdrs, credentials: "omit", cache: "no-store",
        body: m === "GET" || m === "HEAD" ? undefined : body.value });
      const buf = await r.arrayBuffer();
      const ms = performance.now() - t0;
      out.replaceChildren(...resultView(r, buf, ms));
    } catch (ex) {
      out.replaceChildren();
      err.textContent = "The call failed before any answer: " + ex.message + " (is the gateway reachable?)";
    } finally { btn.disabled = false; }
  } },
    h("div", { class: "row" },
      h("div", { class: "field", style: "flex:0 0 8rem;min-width:7rem" }, h("label", { for: id("method") }, "Method"), method),
      h("div", { class: "field" }, h("label", { for: id("path") }, "Path"), path)),
    h("div", { class: "row" },
      h("div", { class: "field" }, h("label", { for: id("headers") }, "Headers (one per line)"), headers),
      h("div", { class: "field" }, h("label", { for: id("body") }, "Body"), body)),
    btn, err);

  function resultView(r, buf, ms) {
    const ct = r.headers.get("content-type") || "";
    const dur = r.headers.get("x-duration-seconds");
    const rows = [...r.headers.entries()].map(([k, v]) => h("tr", {}, h("th", { scope: "row", class: "mono" }, k), h("td", { class: "mono" }, v)));
    let view;
    const bytes = new Uint8Array(buf);
    const text = decodeText(bytes, ct);
    if (text != null && /json/.test(ct)) {
      let pretty = text;
      try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch { }
      view = h("pre", { class: "body", id: id("body-out") }, pretty);
    } else if (text != null) {
      view = h("pre", { class: "body", id: id("body-out") }, text || "(empty body)");
    } else {
      if (blobUrl) URL.revokeObjectURL(blobUrl);
      // Always bytes: a blob: URL has the portal's origin, so a type the
      // browser renders (PDF, SVG...) opened from the link would run there.
      blobUrl = URL.createObjectURL(new Blob([buf], { type: "application/octet-stream" }));
      view = h("p", { id: id("body-out") }, h("a", { href: blobUrl, download: `${name}-response`, class: "button" }, `Download the body (${fmtBytes(buf.byteLength)}, ${ct || "binary"})`));
    }
    return [
      h("p", { id: id("status") }, h("span", { class: "pill " + (r.ok ? "ok" : "bad") }, `${r.status} ${r.statusText}`),
        ` in ${ms.toFixed(1)} ms`, dur ? ` (function: ${fmtSec(Number(dur))})` : "", ` · ${fmtBytes(buf.byteLength)}`),
      h("details", {}, h("summary", {}, `Response headers (${rows.length})`), h("table", {}, h("tbody", {}, rows))),
      view,
    ];
  }
  return h("div", {}, form, out);
}

// decodeText returns the body as text when it is text, else null.
function decodeText(bytes, ct) {
  if (/^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|.*\+json|.*\+xml))/.test(ct) || (!ct && bytes.length === 0)) {
    return new TextDecoder().decode(bytes);
  }
  if (ct && !/octet-stream/.test(ct)) return null;
  try { return new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, 1 << 20)).includes("\u0000") ? null : new TextDecoder().decode(bytes); }
  catch { return null; }
}
