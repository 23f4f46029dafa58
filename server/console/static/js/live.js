// 实时画面: the latest picture of every camera of a hall (uploaded by the edge every few seconds), with its age,
// health and the windows whose seats it sees; a click opens the camera's live video large (MJPEG: the edge
// sends a picture a second while someone watches), closed with the dialog.
import { api, h, mount } from "./api.js";
import { t } from "./i18n.js";
import { ctx } from "./state.js";
import { fmtAge, fmtNum, hallPicker, livePicture } from "./ops_util.js";

const STREAM_S = 300;

function openVideo(hallId, c) {
  const url = `/api/v1/console/halls/${encodeURIComponent(hallId)}/live/${encodeURIComponent(c.id)}.mjpeg`;
  const img = h("img#live-stream", { alt: `${t("ops_live_video")} ${c.name}` });
  const again = h("button#live-stream-again", { type: "button", hidden: true,
    onclick: () => { again.hidden = true; start(); } }, t("ops_live_again"));
  const start = () => {
    img.src = `${url}?seconds=${STREAM_S}&t=${Date.now()}`;
    setTimeout(() => { if (dlg.open) again.hidden = false; }, STREAM_S * 1000);
  };
  const dlg = h("dialog.modal.live-video#live-video",
    h("h3", `${t("ops_live_video")} · ${c.name}`),
    h("div.live-box.has-pic", img),
    h("p.muted.small", t("ops_live_video_hint")),
    h("div.btns.dialog-btns", again,
      h("button", { type: "button", id: "live-video-close", onclick: () => dlg.close() }, t("ops_live_close"))));
  dlg.addEventListener("close", () => { img.removeAttribute("src"); dlg.remove(); });  // ends the stream
  document.body.append(dlg);
  dlg.showModal();
  start();
}

function card(hallId, c) {
  const health = c.state === "ok" ? "ok" : c.state === "unknown" ? "unknown" : "bad";
  return h("figure.live-card", { dataset: { camera: c.id, health }, tabindex: 0, title: t("ops_live_open"),
    onclick: () => openVideo(hallId, c), onkeydown: (e) => { if (e.key === "Enter") openVideo(hallId, c); } },
    livePicture(hallId, c.id),
    h("figcaption",
      h("div.live-name", h("span.dot", { class: health }, "●"), ` ${c.name}`),
      h("div.muted.small",
        c.state === "ok" ? `${t("online")} · ${fmtNum(c.fps, 1)} fps` : t("cam_" + c.state),
        " · ", h("span.live-age", fmtAge(c.age_s)),
        c.windows.length ? ` · ${t("ops_sees_windows", { w: c.windows.join("、") })}` : "")));
}

let loadSeq = 0;
async function load(body, hallId) {
  const seq = ++loadSeq;
  const cams = await api(`/api/v1/console/halls/${encodeURIComponent(hallId)}/live`);
  if (seq !== loadSeq) return;   // another hall was picked meanwhile
  if (!cams.length) { mount(body, h("p.muted", t("none"))); return; }
  mount(body, h("div.live-grid#live-grid", cams.map((c) => card(hallId, c))));
}

export async function renderLive(main) {
  if (!ctx.halls.length) { mount(main, h("p.muted", t("none"))); return; }
  const body = h("div#live-body", t("loading"));
  const pick = hallPicker("live-hall", (id) => load(body, id));
  mount(main, h("div.page-head", h("h2", t("nav_live")), h("div.btns", pick,
    h("span.muted.small", t("ops_live_hint")))), body);
  await load(body, pick.value);
  const timer = setInterval(() => {
    if (!document.body.contains(body)) { clearInterval(timer); return; }
    api(`/api/v1/console/halls/${encodeURIComponent(pick.value)}/live`).then((cams) => {
      for (const c of cams) {
        const el = body.querySelector(`figure[data-camera="${CSS.escape(c.id)}"] .live-age`);
        if (el) el.textContent = fmtAge(c.age_s);
      }
    }).catch(() => {});
  }, 5000);
}
