// Hash router. Each page is a function(args...) that fills $main and
// registers cleanups (timers, streams) with onLeave.
const routes = [];
let leaving = [];
const route = (re, page) => routes.push([re, page]);
const onLeave = (f) => leaving.push(f);

function currentNs() { return sessionStorage.getItem("ferry.ns") || DEFAULT_NS; }
function setNs(ns) { sessionStorage.setItem("ferry.ns", ns); }

function render() {
  for (const f of leaving) { try { f(); } catch { } }
  leaving = [];
  const hash = location.hash || "#/";
  if (!hash.startsWith("#/")) return; // an in-page anchor, not a route
  for (const [re, page] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    $main.replaceChildren();
    alertMsg(unreachableSince ? $alert.textContent : "");
    page(...m.slice(1).map((x) => x == null ? x : decodeURIComponent(x)));
    const h1 = $main.querySelector("h1");
    if (h1) { h1.tabIndex = -1; if (render.moved) h1.focus({ preventScroll: true }); document.title = `${h1.firstChild?.textContent?.trim() || "Ferry"} · Ferry`; }
    render.moved = true;
    markNav(hash);
    return;
  }
  location.replace(`#/ns/${enc(currentNs())}`);
}

// poll runs f now and then every ms after each run finishes (no overlap),
// until the page is left.
function poll(ms, f) {
  let stop = false, timer = 0;
  const tick = async () => {
    if (stop) return;
    try { await f(); } catch (e) { if (!(e instanceof ApiError && e.status === 0)) console.warn(e); }
    if (!stop) timer = setTimeout(tick, document.hidden ? ms * 4 : ms);
  };
  tick();
  onLeave(() => { stop = true; clearTimeout(timer); });
}

// Stats come from GET /system/stats; older gateways answer 404, and then
// the portal shows "—" and says why once.
let statsMissing = false;
async function getStats(query) {
  if (statsMissing) return null;
  try { return await api("GET", "/system/stats" + (query || "")); }
  catch (e) { if (e.status === 404 || e.status === 501) { statsMissing = true; return null; } throw e; }
}
