// Small helpers: API calls with the login token, DOM building without innerHTML, the WebAudio beep, SSE.
import { t } from "./i18n.js";
import "./console_i18n.js";

const TOKEN_KEY = "hw.token";
const USER_KEY = "hw.user";

export const session = {
  get token() { return localStorage.getItem(TOKEN_KEY); },
  get user() { try { return JSON.parse(localStorage.getItem(USER_KEY)); } catch { return null; } },
  set(token, user) { localStorage.setItem(TOKEN_KEY, token); localStorage.setItem(USER_KEY, JSON.stringify(user)); },
  clear() { localStorage.removeItem(TOKEN_KEY); localStorage.removeItem(USER_KEY); },
};

export class ApiError extends Error {
  constructor(status, detail, errors = null) {
    super(`${status}: ${detail}`); this.status = status; this.detail = detail; this.errors = errors;
  }
}

// A form's message line: green when saved, red with the translated reason when not.
export function showError(el, ex) { el.textContent = errorText(ex); el.classList.add("error"); el.classList.remove("msg-ok"); }

export function showOk(el, text) { el.textContent = text; el.classList.remove("error"); }

// Photos from phone cameras are shrunk in the browser before upload (longest side ≤ 2560 px, JPEG 85 %):
// a 20 MB picture becomes well under a megabyte and the upload does not fail after minutes on mobile data.
export async function shrinkPhoto(file, maxSide = 2560, quality = 0.85) {
  if (!file || !file.size || !file.type.startsWith("image/")) return file;
  let bitmap;
  try { bitmap = await createImageBitmap(file); } catch { return file; }   // the server will say what is wrong
  const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
  if (scale === 1 && file.size <= 2 * 1024 * 1024) return file;
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale); canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((ok) => canvas.toBlob(ok, "image/jpeg", quality));
  window.__hwShrunk = { from: file.size, to: blob.size, width: canvas.width, height: canvas.height };
  return new File([blob], (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" });
}

// What to tell the user about a failed call: translated, never the server's raw validation JSON.
export function errorText(ex) {
  if (!(ex instanceof ApiError)) return t("error");
  if (ex.status === 403) return t("forbidden");
  if (ex.status === 413) return t("err_too_large");
  if (ex.status === 422 && ex.errors) {
    return ex.errors.map((e) => {
      if (e.type === "value_error") return String(e.msg || "").replace(/^Value error, /, "");
      const field = [...(e.loc || [])].reverse().find((x) => typeof x === "string" && x !== "body" && x !== "query");
      const name = field ? t("field_" + field) : "";
      const label = name.startsWith("field_") ? "" : `${name}：`;
      const n = e.ctx && (e.ctx.max_length ?? e.ctx.min_length ?? e.ctx.le ?? e.ctx.ge);
      const key = { missing: "err_missing", string_too_short: "err_too_short", string_too_long: "err_too_long",
        less_than_equal: "err_too_big", greater_than_equal: "err_too_small" }[e.type] || "err_invalid";
      return label + t(key, { n: n ?? "" });
    }).join("；");
  }
  if (ex.status >= 500) return t("err_server");
  return ex.detail || t("error");
}

export async function api(path, { method = "GET", body, form, raw = false } = {}) {
  const headers = {};
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  const res = await fetch(path, { method, headers, body: payload });
  if (res.status === 401 && !path.endsWith("/login")) {
    session.clear();
    location.hash = "#/login";
  }
  if (!res.ok) {
    let detail = res.statusText;
    let errors = null;
    try {
      const j = await res.json();
      if (typeof j.detail === "string") detail = j.detail;
      else if (Array.isArray(j.detail)) { errors = j.detail; detail = t("err_invalid"); }
    } catch { /* not json */ }
    throw new ApiError(res.status, detail, errors);
  }
  if (raw) return res;
  return res.status === 204 ? null : res.json();
}

// h("div.card#x", {onclick}, child, "text") — builds elements; strings become text nodes (no HTML injection)
export function h(tag, attrs, ...children) {
  const m = tag.match(/^([a-z0-9]+)((?:[.#][\w-]+)*)$/i);
  const el = document.createElement(m ? m[1] : tag);
  if (m && m[2]) for (const part of m[2].match(/[.#][\w-]+/g)) {
    if (part[0] === ".") el.classList.add(part.slice(1)); else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) { children.unshift(attrs); attrs = null; }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && k !== "list" && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// evidence, PDFs and the event stream authenticate with the HttpOnly session cookie set at login
// replace an element's children, skipping null/false (replaceChildren would print "null")
export function mount(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

// re-render a page every few seconds while a check waits for the edges (SSE wakes it sooner)
export function pollWhile(hash, fn, ms = 2000) {
  setTimeout(() => { if (location.hash === hash) fn(); }, ms);
}

export function evidenceUrl(sha) { return `/api/v1/console/evidence/${sha}`; }

// Audible cue: two short tones generated with WebAudio (no audio files).
let audioCtx = null;
export function beep() {
  try {
    audioCtx = audioCtx || new (window.AudioContext || window.webkitAudioContext)();
    const now = audioCtx.currentTime;
    [0, 0.22].forEach((offset, i) => {
      const osc = audioCtx.createOscillator();
      const gain = audioCtx.createGain();
      osc.type = "sine";
      osc.frequency.value = i ? 1175 : 880;
      gain.gain.setValueAtTime(0.0001, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.3, now + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.18);
      osc.connect(gain).connect(audioCtx.destination);
      osc.start(now + offset);
      osc.stop(now + offset + 0.2);
    });
    window.__hwBeeps = (window.__hwBeeps || 0) + 1;   // observable by the browser test
  } catch (e) { console.warn("beep failed", e); }
}

// One shared EventSource; listeners get {type, data}. The server sends a ping every 5 s: after 15 s without any
// message the stream counts as dead (a server that vanished without closing the connection), is shown as
// disconnected and reopened.
const STALE_MS = 15000;
let source = null;
let lastSeen = 0;
let watchdog = null;
let statusFn = null;
let stale = false;   // after a silent spell: "live" again only once the server is heard, not on a mere reconnect
const listeners = new Set();
export function onEvent(fn) { listeners.add(fn); return () => listeners.delete(fn); }
export let connected = false;
function setConnected(ok) { connected = ok; statusFn && statusFn(ok); }
function open() {
  source = new EventSource("/api/v1/events/stream");
  lastSeen = Date.now();
  source.onopen = () => { lastSeen = Date.now(); if (!stale) setConnected(true); };
  source.onerror = () => setConnected(false);
  const heard = () => { lastSeen = Date.now(); stale = false; if (!connected) setConnected(true); };
  const dispatch = (ev) => {
    heard();
    let data = null;
    try { data = JSON.parse(ev.data); } catch { return; }
    for (const fn of listeners) fn({ type: ev.type, data });
  };
  for (const type of ["alert", "alert.updated", "window", "health", "duty_check", "safety_check"]) {
    source.addEventListener(type, dispatch);
  }
  source.addEventListener("ping", heard);
}
export function connectEvents(statusCb) {
  statusFn = statusCb || statusFn;
  if (source) { statusCb && statusCb(connected); return; }
  if (!session.token) return;
  open();
  watchdog = setInterval(() => {
    if (!source || Date.now() - lastSeen < STALE_MS) return;
    stale = true;
    setConnected(false);
    source.close();
    open();
  }, 1000);
}
export function disconnectEvents() {
  clearInterval(watchdog); watchdog = null;
  if (source) { source.close(); source = null; connected = false; }
}
