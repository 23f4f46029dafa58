// Hall board: a floor view of every window (staffed / empty since / closed), A/B roster, open alerts, device health.
import { api, mount, h, onEvent } from "./api.js";
import { fmtTime, getLang, t } from "./i18n.js";
import { ctx } from "./state.js";
import "./console_i18n.js";

const fmtNum = (x, digits) => Number(x).toLocaleString(getLang() === "zh" ? "zh-CN" : "en-GB",
  { minimumFractionDigits: digits, maximumFractionDigits: digits });
import { liveStrip } from "./ops_util.js";

let unsubscribe = null;

function since(iso) {
  if (!iso) return "";
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function windowTile(w) {
  const state = w.closed ? "closed" : (w.state || "unknown");
  return h("div.tile", { class: `tile state-${state}`, dataset: { windowId: w.id, state } },
    h("div.tile-head", h("span.num", String(w.number)), h("span.wname", w.name),
      w.open_alerts ? h("a.alerts", { href: `#/feed`, title: t("open_alerts") }, `! ${w.open_alerts}`) : null),
    h("div.state", t(state),
      state === "empty" && w.since ? h("span.since", ` · ${t("empty_since")} ${fmtTime(w.since)} (${since(w.since)})`) : null),
    h("div.roster", `${t("post_a")}: ${w.staff_a?.name || "—"}　${t("post_b")}: ${w.staff_b?.name || "—"}`),
    w.business ? h("div.business.muted", w.business) : null);
}

// a sensor's last reading: states in words (门锁 未上锁, 烟感 正常), numbers as the server formatted them
function readingText(s) {
  const r = s.reading || {};
  if (r.kind && (typeof r.value === "boolean" || typeof r.value === "string")) {
    const key = `state_${r.kind}_${String(r.value).toLowerCase()}`;
    if (t(key) !== key) return t(key);
  }
  if (typeof r.value === "boolean") return t(r.value ? "yes" : "no");
  return s.value ?? "";
}

function healthList(title, items, stateFn, labelFn) {
  return h("div.health-col", h("h4", title),
    h("ul.health", items.map((x) => h("li", { class: stateFn(x), dataset: { id: x.id, health: stateFn(x) } },
      h("span.dot", "●"), ` ${x.name} `, h("span.muted", labelFn(x))))));
}

async function renderHall(container, hallId) {
  const b = await api(`/api/v1/console/halls/${encodeURIComponent(hallId)}/board`);
  const floor = h("div.floor",
    h("div.counter-label.muted", "柜台 / counters"),
    h("div.tiles", b.windows.map(windowTile)),
    h("div.public-area.muted", "等候区 / waiting area"));
  const health = h("div.health-grid",
    healthList(t("cameras"), b.cameras, (c) => ["ok", "slow", "unknown"].includes(c.state) ? c.state : "bad",
      (c) => c.state === "ok" ? `${t("online")} · ${fmtNum(c.fps ?? 0, 1)} fps`
        : c.state === "slow" ? `${t("cam_slow")} · ${t("fps_of", { fps: fmtNum(c.fps ?? 0, 1), expected: fmtNum(c.expected_fps, 1) })}`
          : t("cam_" + c.state)),
    healthList(t("sensors"), b.sensors, (s) => s.online === true ? "ok" : s.online === false ? "bad" : "unknown",
      (s) => s.online === true ? `${t("online")} ${readingText(s)}` : (s.online === false ? t("offline") : t("unknown"))));
  container.replaceChildren(h("section.hall", { dataset: { hallId } },
    h("h3", b.hall.name, b.phase ? h("span.muted#board-phase", ` · ${t("phase_" + b.phase)}`) : null), floor, h("h4", t("health")), health,
    b.cameras.length ? [h("h4", t("ops_live")), liveStrip(hallId, b.cameras)] : null));
}

export async function renderBoard(main) {
  const pick = h("select#board-hall", ctx.halls.map((x) => h("option", { value: x.id }, x.name)));
  const body = h("div#board-body", t("loading"));
  mount(main, h("div.page-head", h("h2", t("nav_board")), pick), body);
  const load = () => renderHall(body, pick.value);
  pick.addEventListener("change", load);
  if (!ctx.halls.length) { body.textContent = t("none"); return; }
  await load();
  if (unsubscribe) unsubscribe();
  let pending = null;
  unsubscribe = onEvent(({ type, data }) => {
    if (!document.body.contains(body)) return;
    if ((type === "window" || type === "health" || type === "alert" || type === "alert.updated") && data.hall_id === pick.value) {
      clearTimeout(pending);
      pending = setTimeout(load, 300);
    }
  });
}
