// 电子地图: the uploaded floor plan with windows, cameras, exits and sensors placed on it, coloured by their
// live state, with a badge for open alerts; admins upload the plan and place items (pick from the list and
// tap the plan, or drag a marker). Refreshes on live events.
import { api, h, mount, onEvent } from "./api.js";
import { fmtTime, ruleName, t } from "./i18n.js";
import { ctx } from "./state.js";
import { fmtNum, hallPicker, livePicture } from "./ops_util.js";

let unsubscribe = null;

function tone(it) {
  if (it.alerts.length) return it.alerts[0].severity === "critical" ? "critical" : "alert";
  if (it.kind === "window") return { staffed: "ok", empty: "bad", closed: "off", off_duty: "off" }[it.state] || "unknown";
  if (it.kind === "exit") return "ok";
  return { ok: "ok", unknown: "unknown" }[it.state] || "bad";
}

function stateText(it) {
  if (it.kind === "window") return t(it.state === "closed" ? "closed" : (it.state || "unknown"));
  if (it.kind === "camera") return it.state === "ok" ? t("online") : t("cam_" + it.state);
  if (it.kind === "sensor") {
    if (it.state === "ok") return `${t("online")}${it.value !== null && it.value !== undefined ? " · " + fmtValue(it) : ""}`;
    return it.state === "offline" ? t("offline") : t("unknown");
  }
  return t("map_exit");
}

function fmtValue(it) {
  if (typeof it.value === "number") return `${fmtNum(it.value, Number.isInteger(it.value) ? 0 : 1)}${it.unit ? " " + it.unit : ""}`;
  if (typeof it.value === "boolean") return it.value ? t("map_yes") : t("map_no");
  return String(it.value);
}

function markerEl(it) {
  const label = it.kind === "window" ? String(it.number) : t("map_glyph_" + it.kind);
  return h("button.map-marker", {
    type: "button", class: `map-marker kind-${it.kind} tone-${tone(it)}`, title: `${it.name} · ${stateText(it)}`,
    style: `left:${(it.x * 100).toFixed(3)}%;top:${(it.y * 100).toFixed(3)}%`,
    dataset: { kind: it.kind, ref: it.ref, tone: tone(it) },
  }, label, it.alerts.length ? h("span.map-badge", String(it.alerts.length)) : null);
}

function infoPanel(hallId, it) {
  if (!it) return h("p.muted.small", t("map_pick_hint"));
  return h("div.map-info#map-info", { dataset: { kind: it.kind, ref: it.ref } },
    h("h4", `${t("map_kind_" + it.kind)} · ${it.name}`),
    h("p", stateText(it)),
    it.kind === "window" ? h("p.small#map-seat", `${t("post_a")}${t("users_kv")}${it.staff_a || "—"}　${t("post_b")}${t("users_kv")}${it.staff_b || "—"}`,
      it.seated ? h("div", t("map_seated", { who: it.seated, post: t("roster_post_" + it.post) })) : null) : null,
    it.alerts.length
      ? h("ul.map-alerts", it.alerts.map((a) => h("li", { class: `sev-${a.severity}` },
          h("a", { href: `#/alert/${a.id}` }, `#${a.id} ${ruleName(a.rule, a.rule_name)}`), ` · ${t("st_" + a.status)}`)))
      : h("p.muted.small", t("map_no_alerts")),
    it.kind === "camera" ? livePicture(hallId, it.ref) : null,
    it.kind === "exit" && it.camera ? livePicture(hallId, it.camera) : null);
}

async function load(body, hallId, state) {
  const seq = state.seq = (state.seq || 0) + 1;
  const m = await api(`/api/v1/console/halls/${encodeURIComponent(hallId)}/map`);
  if (seq !== state.seq) return;   // a newer load (another hall, a live event) is on its way
  body.dataset.hall = hallId;
  const admin = ctx.can("configure");
  state.items = m.items;
  const placed = m.items.filter((it) => it.x !== null);
  const unplaced = m.items.filter((it) => it.x === null);
  const info = h("div.map-side-info", infoPanel(hallId, m.items.find((x) => `${x.kind}/${x.ref}` === state.selected)));
  let stage = null;
  if (m.has_plan) {
    const img = h("img.map-plan#map-plan", { src: `/api/v1/console/halls/${encodeURIComponent(hallId)}/map/plan?v=${encodeURIComponent(m.plan.updated_at)}`,
      alt: t("nav_map"), draggable: false });
    stage = h("div.map-stage#map-stage", { class: state.editing ? "map-stage editing" : "map-stage",
      style: `aspect-ratio:${m.plan.width} / ${m.plan.height}` }, img, placed.map(markerEl));
    wireStage(stage, hallId, state, body, info);
  }
  const legend = h("div.map-legend.small",
    ["ok", "bad", "alert", "critical", "unknown"].map((k) => h("span", h("i", { class: `map-dot tone-${k}` }), t("map_tone_" + k))));
  const tools = admin ? h("div.map-tools.btns",
    h("label.button", t("map_upload"), h("input#map-file", { type: "file", accept: "image/png,image/jpeg", hidden: true,
      onchange: async (e) => {
        const f = e.target.files[0];
        if (!f) return;
        msg.textContent = state.msg = "";
        try {
          await api(`/api/v1/console/halls/${encodeURIComponent(hallId)}/map/plan`, { method: "PUT", form: f });
          await load(body, hallId, state);
        } catch (ex) {
          const why = { 413: "map_err_size", 415: "map_err_type", 422: "map_err_decode", 403: "map_err_forbidden" }[ex.status];
          // kept in the state: a live refresh of the map re-renders it instead of wiping it
          msg.textContent = state.msg = t("map_upload_failed", { why: t(why || "map_err_other") });
        }
      } })),
    m.has_plan ? h("button#map-edit", { type: "button", class: state.editing ? "primary" : "",
      onclick: () => { state.editing = !state.editing; state.placing = null; load(body, hallId, state); } },
      state.editing ? t("map_edit_done") : t("map_edit")) : null) : null;
  const msg = h("p.error#map-msg", state.msg || "");
  const palette = admin && state.editing ? h("div.map-palette#map-palette",
    h("h4", t("map_unplaced")), unplaced.length ? null : h("p.muted.small", t("map_all_placed")),
    h("div.btns", unplaced.map((it) => h("button.small", { type: "button",
      class: state.placing === `${it.kind}/${it.ref}` ? "small primary" : "small",
      dataset: { kind: it.kind, ref: it.ref },
      onclick: () => { state.placing = `${it.kind}/${it.ref}`; load(body, hallId, state); } },
      `${t("map_kind_" + it.kind)} ${it.name}`))),
    h("p.muted.small", state.placing ? t("map_tap_to_place") : t("map_edit_hint"))) : null;
  const counts = h("p.small.muted#map-summary", t("map_summary", {
    placed: fmtNum(placed.length), total: fmtNum(m.items.length),
    alerts: fmtNum(m.items.reduce((n, it) => n + it.alerts.length, 0)) }),
    m.plan ? ` · ${t("map_plan_by", { who: m.plan.updated_by, at: fmtTime(m.plan.updated_at) })}` : "");
  mount(body, tools, msg, m.has_plan ? null : h("p.muted#map-none", admin ? t("map_none_admin") : t("map_none")),
    h("div.map-layout", h("div.map-main", stage, legend, counts), h("div.map-side", palette, info)));
}

function wireStage(stage, hallId, state, body, info) {
  const frac = (ev) => {
    const r = stage.getBoundingClientRect();
    return { x: Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width)), y: Math.min(1, Math.max(0, (ev.clientY - r.top) / r.height)) };
  };
  const save = async (key, p) => {
    const [kind, ref] = key.split("/");
    await api(`/api/v1/console/halls/${encodeURIComponent(hallId)}/map/markers/${kind}/${encodeURIComponent(ref)}`,
      { method: "PUT", body: { x: Number(p.x.toFixed(4)), y: Number(p.y.toFixed(4)) } });
  };
  let drag = null;
  stage.addEventListener("pointerdown", (ev) => {
    const mk = ev.target.closest(".map-marker");
    if (!state.editing || !mk) return;
    ev.preventDefault();
    drag = { el: mk, key: `${mk.dataset.kind}/${mk.dataset.ref}`, moved: false };
    stage.setPointerCapture(ev.pointerId);
  });
  stage.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const p = frac(ev);
    drag.moved = true;
    drag.el.style.left = `${p.x * 100}%`;
    drag.el.style.top = `${p.y * 100}%`;
  });
  stage.addEventListener("pointerup", async (ev) => {
    if (drag) {
      const d = drag;
      drag = null;
      if (d.moved) { await save(d.key, frac(ev)); await load(body, hallId, state); }
      return;
    }
    const mk = ev.target.closest(".map-marker");
    if (mk) {
      state.selected = `${mk.dataset.kind}/${mk.dataset.ref}`;
      mount(info, infoPanel(hallId, state.items.find((x) => `${x.kind}/${x.ref}` === state.selected)));
      return;
    }
    if (state.editing && state.placing) {
      const key = state.placing;
      state.placing = null;
      await save(key, frac(ev));
      await load(body, hallId, state);
    }
  });
}

export async function renderMap(main) {
  if (!ctx.halls.length) { mount(main, h("p.muted", t("none"))); return; }
  const body = h("div#map-body", t("loading"));
  const state = { editing: false, placing: null, selected: null, items: [] };
  // another hall: the previous hall's controls go at once, so nothing is uploaded or placed into it meanwhile
  const pick = hallPicker("map-hall", (id) => {
    Object.assign(state, { selected: null, editing: false, placing: null, msg: "" });
    delete body.dataset.hall;
    mount(body, t("loading"));
    load(body, id, state);
  });
  mount(main, h("div.page-head", h("h2", t("nav_map")), pick), body);
  await load(body, pick.value, state);
  if (unsubscribe) unsubscribe();
  let pending = null;
  unsubscribe = onEvent(({ type, data }) => {
    if (!document.body.contains(body) || state.editing) return;
    if (["window", "health", "alert", "alert.updated"].includes(type) && data.hall_id === pick.value) {
      clearTimeout(pending);
      pending = setTimeout(() => load(body, pick.value, state), 300);
    }
  });
}
