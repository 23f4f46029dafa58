// Shared helpers of the hall operations pages: number and age formatting, hall picker, live picture element.
import { api, h } from "./api.js";
import { getLang, t } from "./i18n.js";
import { ctx } from "./state.js";

export function fmtNum(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return "—";
  return Number(n).toLocaleString(getLang() === "zh" ? "zh-CN" : "en-GB",
    { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtAge(s) {
  if (s === null || s === undefined) return t("ops_no_picture");
  if (s < 90) return t("ops_age_s", { n: fmtNum(s) });
  if (s < 5400) return t("ops_age_min", { n: fmtNum(s / 60) });
  return t("ops_age_h", { n: fmtNum(s / 3600, 1) });
}

export function hallPicker(id, onchange) {
  const sel = h(`select#${id}`, ctx.halls.map((x) => h("option", { value: x.id }, x.name)));
  const saved = sessionStorage.getItem("hw.ops.hall");
  if (saved && ctx.halls.some((x) => x.id === saved)) sel.value = saved;
  sel.addEventListener("change", () => { sessionStorage.setItem("hw.ops.hall", sel.value); onchange(sel.value); });
  return sel;
}

export function liveUrl(hallId, cameraId) {
  return `/api/v1/console/halls/${encodeURIComponent(hallId)}/live/${encodeURIComponent(cameraId)}.jpg`;
}

// Which cameras of a hall have a picture (one request per hall every few seconds, shared by all elements).
const liveIndexCache = new Map();
export function liveIndex(hallId, maxAgeMs = 4000) {
  const hit = liveIndexCache.get(hallId);
  if (hit && Date.now() - hit.at < maxAgeMs) return hit.promise;
  const promise = api(`/api/v1/console/halls/${encodeURIComponent(hallId)}/live`)
    .then((cams) => new Map(cams.map((c) => [c.id, c.picture_at])))
    .catch(() => new Map());
  liveIndexCache.set(hallId, { at: Date.now(), promise });
  return promise;
}

// The latest picture of a camera, reloaded every `ms` while the element is in the page; the image is only
// requested once the camera has a picture (a placeholder text until then, never a broken image).
export function livePicture(hallId, cameraId, { ms = 5000, cls = "live-img" } = {}) {
  const img = h("img", { class: cls, alt: `${t("ops_live")} ${cameraId}`, dataset: { camera: cameraId } });
  const empty = h("div.live-empty.muted", t("ops_no_picture"));
  const box = h("div.live-box", img, empty);
  img.addEventListener("load", () => { box.classList.add("has-pic"); });
  img.addEventListener("error", () => { box.classList.remove("has-pic"); });
  let shown = null;
  const load = async () => {
    const at = (await liveIndex(hallId)).get(cameraId);
    if (!at || at === shown) return;
    shown = at;
    img.src = `${liveUrl(hallId, cameraId)}?t=${encodeURIComponent(at)}`;
  };
  load();
  const timer = setInterval(() => {
    if (!document.body.contains(box)) { clearInterval(timer); return; }
    load();
  }, ms);
  return box;
}

// "Current picture" figure next to an alert's evidence.
export function liveFigure(hallId, cameraId) {
  return h("figure.live-now#live-now", h("figcaption", `${t("ops_live_now")} · ${cameraId}`), livePicture(hallId, cameraId));
}

// A row of live thumbnails (hall board).
export function liveStrip(hallId, cameras) {
  return h("div.live-strip#live-strip", cameras.map((c) =>
    h("a.live-thumb", { href: "#/live", title: c.name, dataset: { camera: c.id } },
      livePicture(hallId, c.id, { ms: 10000 }), h("span.small", c.name))));
}
