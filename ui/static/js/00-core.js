// Core helpers shared by every page: element builder, API client, status
// messages, formatting. The numbered files are concatenated in order into
// one module by the Go side (ui/bundle.go), so they share this scope.
const boot = window.ferryBoot || { auth: null, key: "ferry.auth" };
const $main = document.getElementById("main");
const $status = document.getElementById("status");
const $alert = document.getElementById("alert");
const DEFAULT_NS = "openfaas-fn";
const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

// h builds an element: h("a", {href: "#", onclick: f}, "text", child...).
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (["value", "checked", "disabled", "hidden", "selected", "multiple", "readOnly"].includes(k)) el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, kids);
  return el;
}
function append(el, kids) {
  for (const k of kids.flat(Infinity)) {
    if (k == null || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return el;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

let unreachableSince = 0;

// api calls the gateway with the user's credentials. Errors become
// ApiError with the gateway's one-line message; 401 signs the user out.
async function api(method, path, body, opts = {}) {
  const headers = { "X-Ferry-UI": "1", ...(opts.headers || {}) };
  if (boot.auth) headers.Authorization = boot.auth;
  const init = { method, headers, signal: opts.signal, cache: "no-store" };
  if (body !== undefined) {
    if (body instanceof Blob || body instanceof ArrayBuffer) init.body = body;
    else { init.body = JSON.stringify(body); headers["Content-Type"] = "application/json"; }
  }
  let r;
  try { r = await fetch(path, init); } catch (e) {
    if (e.name === "AbortError") throw e;
    if (!unreachableSince) unreachableSince = Date.now();
    alertMsg("The gateway is unreachable. Retrying… (check that ferry serve is running)");
    throw new ApiError(0, "the gateway is unreachable");
  }
  if (unreachableSince) { unreachableSince = 0; alertMsg(""); say("Connected to the gateway again."); }
  if (r.status === 401) { signOut("The gateway rejected your credentials; sign in again."); throw new ApiError(401, "unauthorised"); }
  if (opts.raw) return r;
  const text = await r.text();
  if (!r.ok) throw new ApiError(r.status, errorText(text) || `${r.status} ${r.statusText}`);
  if (!text) return null;
  try { return JSON.parse(text); } catch { return text; }
}

// errorText extracts the message from a plain or JSON error body.
function errorText(text) {
  text = (text || "").trim();
  try { const j = JSON.parse(text); if (j && typeof j === "object") return j.message || j.error || text; } catch { }
  return text;
}

function signOut(note) {
  sessionStorage.removeItem(boot.key);
  if (note) sessionStorage.setItem("ferry.note", note);
  location.replace("/ui/login" + location.hash);
}

// say announces a short status (polite); alertMsg shows an error (assertive).
let sayTimer = 0;
function say(msg) {
  $status.textContent = msg;
  clearTimeout(sayTimer);
  if (msg) sayTimer = setTimeout(() => { $status.textContent = ""; }, 5000);
}
function alertMsg(msg) { if ($alert.textContent !== msg) $alert.textContent = msg; }

// Formatting.
const fmtNum = (n, d = 1) => n == null || isNaN(n) ? "—" : Number(n).toLocaleString(undefined, { maximumFractionDigits: d });
const fmtInt = (n) => n == null ? "—" : Math.round(n).toLocaleString();
function fmtSec(s) {
  if (s == null || isNaN(s)) return "—";
  if (s === 0) return "0";
  if (s < 1e-3) return (s * 1e6).toFixed(0) + " µs";
  if (s < 1) return (s * 1e3).toFixed(s < 0.01 ? 2 : 1) + " ms";
  return s.toFixed(2) + " s";
}
function fmtBytes(n) {
  if (n == null) return "—";
  const u = ["B", "KiB", "MiB", "GiB"]; let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + u[i];
}
function fmtAgo(t) {
  if (!t) return "—";
  const d = (Date.now() - new Date(t).getTime()) / 1000;
  if (isNaN(d)) return "—";
  if (d < 60) return Math.max(0, Math.round(d)) + " s ago";
  if (d < 3600) return Math.round(d / 60) + " min ago";
  if (d < 86400) return Math.round(d / 3600) + " h ago";
  return Math.round(d / 86400) + " d ago";
}
// copyText puts text on the clipboard, or says how to copy it by hand
// (the clipboard API needs a secure context: https or localhost).
async function copyText(text, what) {
  try { await navigator.clipboard.writeText(text); say(`Copied ${what}.`); }
  catch { say(`Could not reach the clipboard: select the ${what} and copy it.`); }
}
// shq quotes a word for a POSIX shell.
const shq = (v) => /^[\w@%+=:,./-]+$/.test(v) ? v : `'${String(v).replace(/'/g, `'\\''`)}'`;
const enc = encodeURIComponent;
const fnPath = (ns, name) => `#/fn/${enc(ns)}/${enc(name)}`;
