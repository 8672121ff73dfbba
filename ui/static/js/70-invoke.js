// The invoke panel. Calls go to /function/NAME.NS/PATH (or, async, to
// /async-function/...) without the portal's credentials (credentials:
// "omit"): a function must never see the admin password, and neither does
// the copied curl line.
function fnURL(ns, name, async) {
  return `${location.origin}/${async ? "async-" : ""}function/${enc(name)}${ns === DEFAULT_NS ? "" : "." + enc(ns)}`;
}

// urlBox shows the function's synchronous and asynchronous URLs, each with
// a copy button.
function urlBox(ns, name) {
  const row = (id, label, url) => [h("dt", {}, label), h("dd", { class: "urlrow" }, h("code", { id }, url),
    h("button", { type: "button", class: "link", id: id + "-copy", "aria-label": `Copy the ${label.toLowerCase()}`, onclick: () => copyText(url, label.toLowerCase()) }, "Copy"))];
  return h("dl", { class: "kv", id: "fn-urls" }, row("fn-url", "URL", fnURL(ns, name, false)), row("fn-async-url", "Async URL", fnURL(ns, name, true)));
}

function invokePanel(ns, name) {
  const id = (x) => `inv-${x}`;
  const method = h("select", { id: id("method") }, ["GET", "POST", "PUT", "PATCH", "DELETE"].map((m) => h("option", { value: m, selected: m === "POST" }, m)));
  const path = h("input", { id: id("path"), value: "/", autocomplete: "off", spellcheck: "false" });
  const headers = h("textarea", { id: id("headers"), rows: "2", placeholder: "Content-Type: text/plain", spellcheck: "false" });
  const body = h("textarea", { id: id("body"), rows: "4", spellcheck: "false" });
  const asyncBox = h("input", { type: "checkbox", id: id("async") });
  const callback = h("input", { id: id("callback"), type: "url", placeholder: "https://example.com/done (optional)", autocomplete: "off", spellcheck: "false" });
  const callbackField = h("div", { class: "field", hidden: true }, h("label", { for: id("callback") }, "Callback URL (X-Callback-Url)"), callback);
  const curl = h("pre", { class: "curl", id: id("curl"), tabindex: "0", "aria-label": "The call as a curl command" });
  const btn = h("button", { type: "submit", class: "primary", id: id("submit") }, "Invoke");
  const err = h("p", { class: "form-error", id: id("error") });
  const out = h("div", { id: id("result"), "aria-live": "polite" });
  let blobUrl = "";
  onLeave(() => blobUrl && URL.revokeObjectURL(blobUrl));

  // call reads the form: the URL, method, headers (null and an error
  // shown by the field when a line is malformed) and body.
  function call() {
    const hdrs = [];
    for (const [i, line] of headers.value.split("\n").entries()) {
      if (!line.trim()) continue;
      const c = line.indexOf(":");
      const kv = [line.slice(0, c).trim(), line.slice(c + 1).trim()];
      try { if (c <= 0) throw 0; new Headers([kv]); } catch { return { bad: `Header line ${i + 1} must look like "Name: value".` }; }
      hdrs.push(kv);
    }
    if (asyncBox.checked && callback.value.trim()) hdrs.push(["X-Callback-Url", callback.value.trim()]);
    let p = path.value.trim() || "/";
    if (!p.startsWith("/")) p = "/" + p;
    const m = method.value;
    return { url: fnURL(ns, name, asyncBox.checked) + (p === "/" ? "" : p), m, hdrs, body: m === "GET" || m === "HEAD" ? undefined : body.value };
  }
  function showCurl() {
    const c = call();
    if (c.bad) return;
    curl.textContent = ["curl -sS" + (asyncBox.checked ? " -i" : ""), c.m === "GET" ? null : `-X ${c.m}`, shq(c.url),
      ...c.hdrs.map(([k, v]) => `-H ${shq(k + ": " + v)}`), c.body ? `--data-binary ${shq(c.body)}` : null].filter(Boolean).join(" ");
  }

  const form = h("form", { id: "invoke-form", oninput: showCurl, onchange: showCurl, onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = "";
    const c = call();
    if (c.bad) { err.textContent = c.bad; headers.setAttribute("aria-invalid", "true"); headers.focus(); return; }
    headers.removeAttribute("aria-invalid");
    btn.disabled = true; out.replaceChildren(h("p", { class: "muted" }, asyncBox.checked ? "Queueing…" : "Calling…"));
    const t0 = performance.now();
    try {
      const r = await fetch(c.url, { method: c.m, headers: c.hdrs, credentials: "omit", cache: "no-store", body: c.body });
      const buf = await r.arrayBuffer();
      const ms = performance.now() - t0;
      out.replaceChildren(...resultView(r, buf, ms).filter(Boolean));
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
    h("div", { class: "actions" },
      h("label", { class: "check" }, asyncBox, " Asynchronous: queue the call, answer 202 with an X-Call-Id"),
      h("span", { class: "spacer" }),
      h("button", { type: "button", id: id("copy-curl"), onclick: () => { showCurl(); copyText(curl.textContent, "curl command"); } }, "Copy as curl")),
    callbackField, curl, btn, err);
  asyncBox.addEventListener("change", () => { callbackField.hidden = !asyncBox.checked; btn.textContent = asyncBox.checked ? "Queue the call" : "Invoke"; });
  showCurl();

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
    const callId = r.headers.get("x-call-id");
    return [
      r.status === 202 && callId ? h("p", { id: id("callid") }, "Queued as call ", h("code", {}, callId),
        ". Its answer goes to the callback URL, if one was given; ", h("code", {}, "ferry queue"), " shows its progress.") : null,
      h("p", { id: id("status") }, h("span", { class: "pill " + (r.ok ? "ok" : "bad") }, `${r.status} ${r.statusText}`),
        ` in ${ms.toFixed(1)} ms`, dur ? ` (function: ${fmtSec(Number(dur))})` : "", ` · ${fmtBytes(buf.byteLength)}`),
      h("details", {}, h("summary", {}, `Response headers (${rows.length})`), h("table", {}, h("tbody", {}, rows))),
      view,
    ];
  }
  return h("div", {}, urlBox(ns, name), form, out);
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
