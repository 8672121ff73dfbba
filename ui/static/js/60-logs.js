// Live logs: GET /system/logs?follow=true is an NDJSON stream, read with
// fetch + ReadableStream and reconnected when it drops. A filter hides the
// lines without its text (case-insensitive) and marks it in the others;
// lines keep arriving, filtered as they come.
const MAX_LOG_LINES = 500;

function logsPanel(ns, name) {
  const pre = h("pre", { class: "logs", id: "logs", tabindex: "0", "aria-label": `Log lines of ${name}` });
  const state = h("span", { class: "muted", id: "logs-state", "aria-live": "polite" }, "connecting…");
  let paused = false, ctrl = null, stopped = false, retry = 0;
  // After a reconnect, ask only for lines after the last one shown and
  // skip the ones already shown at that same timestamp.
  let lastTs = "", seenAtLast = new Set();
  const filter = h("input", { type: "search", id: "logs-filter", placeholder: "text to look for", autocomplete: "off", spellcheck: "false", style: "width:14rem" });
  const matches = h("span", { class: "muted", id: "logs-matches", "aria-live": "polite" });
  let needle = "";
  filter.addEventListener("input", () => {
    needle = filter.value.toLowerCase();
    for (const line of pre.children) show(line);
    count();
    pre.scrollTop = pre.scrollHeight;
  });
  // show hides a line that lacks the filter's text and marks it in one that
  // has it, building text nodes (a log line is never parsed as HTML).
  function show(line) {
    const text = line.logText, msg = line.lastChild;
    const at = needle ? text.toLowerCase().indexOf(needle) : -1;
    line.hidden = !!needle && at < 0;
    if (at < 0) { if (msg.childElementCount) msg.textContent = text; return; }
    const parts = [];
    let from = 0;
    for (let i = at; i >= 0; i = text.toLowerCase().indexOf(needle, from)) {
      parts.push(text.slice(from, i), h("mark", {}, text.slice(i, i + needle.length)));
      from = i + needle.length;
    }
    parts.push(text.slice(from));
    msg.replaceChildren(...parts.filter((p) => p !== ""));
  }
  function count() {
    matches.textContent = needle ? `${[...pre.children].filter((l) => !l.hidden).length} of ${pre.childElementCount} lines match` : "";
  }
  const pauseBtn = h("button", { type: "button", id: "logs-pause", "aria-pressed": "false", onclick: () => {
    paused = !paused; pauseBtn.setAttribute("aria-pressed", String(paused)); pauseBtn.textContent = paused ? "Resume" : "Pause";
  } }, "Pause");

  function add(m) {
    if (m.timestamp) {
      const key = (m.instance || "") + "\u0000" + (m.text || "");
      if (m.timestamp === lastTs && seenAtLast.has(key)) return;
      if (m.timestamp !== lastTs) { lastTs = m.timestamp; seenAtLast = new Set(); }
      seenAtLast.add(key);
    }
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
    const ts = m.timestamp ? new Date(m.timestamp).toLocaleTimeString(undefined, { hour12: false }) : "";
    const line = h("div", { class: "line" }, h("span", { class: "ts" }, `${ts} ${(m.instance || "").slice(0, 12)} `), h("span", {}, m.text ?? ""));
    line.logText = String(m.text ?? "");
    if (needle) show(line);
    pre.append(line);
    while (pre.childElementCount > MAX_LOG_LINES) pre.firstElementChild.remove();
    if (needle) count();
    if (atEnd && !paused) pre.scrollTop = pre.scrollHeight;
  }

  async function follow() {
    while (!stopped) {
      ctrl = new AbortController();
      try {
        const r = await api("GET", `/system/logs?name=${enc(name)}&namespace=${enc(ns)}&follow=true&` + (lastTs ? `since=${enc(lastTs)}` : "tail=100"), undefined, { raw: true, signal: ctrl.signal });
        if (!r.ok) throw new ApiError(r.status, errorText(await r.text()));
        state.textContent = "live"; retry = 0;
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, i).trim(); buf = buf.slice(i + 1);
            if (!line) continue;
            try { add(JSON.parse(line)); } catch { add({ text: line }); }
          }
        }
        if (!stopped) state.textContent = "stream ended; reconnecting…";
      } catch (e) {
        if (stopped || e.name === "AbortError") return;
        if (e.status === 401) return;
        state.textContent = `disconnected (${e.message}); reconnecting…`;
      }
      retry = Math.min(retry + 1, 5);
      await new Promise((res) => setTimeout(res, 500 * retry));
    }
  }
  onLeave(() => { stopped = true; if (ctrl) ctrl.abort(); });
  follow();
  return h("div", {},
    h("div", { class: "actions", style: "margin-bottom:.5rem" }, pauseBtn,
      h("button", { type: "button", id: "logs-clear", onclick: () => { pre.replaceChildren(); count(); } }, "Clear"),
      h("label", { for: "logs-filter", class: "label" }, "Filter"), filter, matches, state),
    pre);
}
