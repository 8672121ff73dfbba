// Live logs: GET /system/logs?follow=true is an NDJSON stream, read with
// fetch + ReadableStream and reconnected when it drops.
const MAX_LOG_LINES = 500;

function logsPanel(ns, name) {
  const pre = h("pre", { class: "logs", id: "logs", tabindex: "0", "aria-label": `Log lines of ${name}` });
  const state = h("span", { class: "muted", id: "logs-state", "aria-live": "polite" }, "connecting…");
  let paused = false, ctrl = null, stopped = false, retry = 0;
  // After a reconnect, ask only for lines after the last one shown and
  // skip the ones already shown at that same timestamp.
  let lastTs = "", seenAtLast = new Set();
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
    pre.append(h("div", { class: "line" }, h("span", { class: "ts" }, `${ts} ${(m.instance || "").slice(0, 12)} `), m.text ?? ""));
    while (pre.childElementCount > MAX_LOG_LINES) pre.firstElementChild.remove();
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
      h("button", { type: "button", id: "logs-clear", onclick: () => pre.replaceChildren() }, "Clear"), state),
    pre);
}
