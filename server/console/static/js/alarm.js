// Cues on every page: a banner and a beep for each new alert; critical alerts take the whole screen with a
// repeating alarm until they are acknowledged (or, for users who may not acknowledge, silenced on this screen).
import { api, beep, h, onEvent } from "./api.js";
import { ruleName, t, fmtTime } from "./i18n.js";
import { ctx, hallName } from "./state.js";
import "./console_i18n.js";

const REPEAT_MS = 2500;
const critical = new Map();          // alert id → alert view, shown in the pop-up
const silenced = new Set();          // ids silenced on this screen by a user who may not acknowledge
let banner = null, overlay = null, timer = null, started = false, unsubscribe = null, lastAlert = null;

export function soundOn() { return localStorage.getItem("hw.sound") !== "off"; }

function where(a) {
  const place = a.window_name ? `${a.window_number ?? ""} ${a.window_name}` : (a.sensor_name || a.location || "");
  return [hallName(a.hall_id), place.trim()].filter(Boolean).join(" · ");
}

function alarmTone() {
  beep();
  window.__hwAlarmBeeps = (window.__hwAlarmBeeps || 0) + 1;   // observable by the browser tests
}

function showBanner(a) {
  lastAlert = a;
  banner.hidden = false;
  banner.className = `banner cue-banner sev-${a.severity}`;
  banner.replaceChildren(h("strong", `${t("new_alert")}: `), `${where(a)} · ${ruleName(a.rule, a.rule_name)} `,
    h("a", { href: `#/alert/${a.id}`, onclick: () => { banner.hidden = true; } }, `${t("open")} →`),
    h("button.link.cue-close", { type: "button", onclick: () => { banner.hidden = true; }, "aria-label": "×" }, "×"));
}

async function acknowledgeAll() {
  const ids = [...critical.keys()];
  if (ctx.can("acknowledge")) {
    for (const id of ids) {
      try { await api(`/api/v1/console/alerts/${id}/acknowledge`, { method: "POST", body: { comment: "" } }); }
      catch { /* already acknowledged elsewhere */ }
      critical.delete(id);
    }
  } else {
    ids.forEach((id) => { silenced.add(id); critical.delete(id); });
  }
  drawOverlay();
}

function drawOverlay() {
  if (!critical.size) {
    overlay.hidden = true;
    clearInterval(timer); timer = null;
    return;
  }
  const list = [...critical.values()].sort((x, y) => String(y.started_at).localeCompare(String(x.started_at)));
  const first = list[0];
  overlay.replaceChildren(h("div.alarm-card", { role: "alertdialog", "aria-live": "assertive" },
    h("div.alarm-title", `⚠ ${t("critical_alarm")}`),
    h("div.alarm-rule#critical-rule", ruleName(first.rule, first.rule_name)),
    h("div.alarm-where", where(first)),
    h("div.alarm-time", fmtTime(first.started_at)),
    list.length > 1 ? h("div.alarm-more", t("alarm_more", { n: list.length - 1 })) : null,
    h("div.alarm-btns",
      h("a.button#critical-open", { href: `#/alert/${first.id}` }, t("open")),
      h("button.primary.big#ack-alarm", { type: "button", onclick: acknowledgeAll }, t("acknowledge_alarm")))));
  overlay.hidden = false;
  if (!timer) { alarmTone(); timer = setInterval(alarmTone, REPEAT_MS); }
}

function addCritical(a) {
  if (a.severity !== "critical" || a.status !== "open" || silenced.has(a.id)) return;
  critical.set(a.id, a);
  drawOverlay();
}

// Called by the shell after each render: re-attaches the cue elements and, once per login, starts listening.
export function attachCues() {
  if (!ctx.can("view")) return;
  banner = banner || h("div.banner.cue-banner#new-alert-banner", { hidden: true });
  overlay = overlay || h("div.alarm-overlay#critical-alarm", { hidden: true });
  const main = document.getElementById("main");
  if (main) main.before(banner);
  document.body.append(overlay);
  if (started) {  // a new render (another page, or the language switched): redraw in the current language
    if (!banner.hidden && lastAlert) showBanner(lastAlert);
    if (critical.size) drawOverlay();
    return;
  }
  started = true;
  unsubscribe = onEvent(({ type, data }) => {
    if (type === "alert") {
      showBanner(data);
      if (data.severity === "critical") addCritical(data);
      else if (soundOn()) beep();
    } else if (type === "alert.updated" && critical.has(data.id) && data.status !== "open") {
      critical.delete(data.id);
      drawOverlay();
    }
  });
  api("/api/v1/console/alerts?severity=critical&status=open&limit=50")
    .then((r) => (r.items || r).forEach(addCritical)).catch(() => { /* shown again on the next event */ });
}

export function stopCues() {
  if (unsubscribe) unsubscribe();
  unsubscribe = null; started = false;
  critical.clear(); silenced.clear();
  clearInterval(timer); timer = null;
  if (overlay) overlay.hidden = true;
  if (banner) banner.hidden = true;
}
