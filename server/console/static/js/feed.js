// Live alert feed: filters + search over the alert list, new alerts pushed over SSE with a visible and audible cue.
import { api, mount, beep, h, onEvent } from "./api.js";
import { fmtTime, ruleName, t } from "./i18n.js";
import { ctx, hallName } from "./state.js";

const SEVERITIES = ["info", "warning", "major", "critical"];
const STATUSES = ["open", "acknowledged", "confirmed", "dismissed", "closed"];
let unsubscribe = null;
let soundOn = localStorage.getItem("hw.sound") !== "off";

export function alertRow(a, fresh = false) {
  return h("tr", { class: `sev-${a.severity}${fresh ? " fresh" : ""}`, dataset: { alertId: a.id, rule: a.rule } },
    h("td", fmtTime(a.started_at)),
    h("td", hallName(a.hall_id)),
    h("td", a.window_name ? `${a.window_number ?? ""} ${a.window_name}` : (a.window_id || "—")),
    h("td", ruleName(a.rule, a.rule_name)),
    h("td", h("span.badge", { class: `badge sev-${a.severity}` }, t("sev_" + a.severity))),
    h("td", h("span.badge", { class: `badge st-${a.status}` }, t("st_" + a.status)),
      a.escalated ? h("span.badge.st-escalated", t("st_escalated")) : null),
    h("td", h("a.open", { href: `#/alert/${a.id}` }, t("open"))));
}

function select(name, options, labelFn) {
  return h("select", { name, id: `f-${name}` }, h("option", { value: "" }, t("all")),
    options.map((o) => h("option", { value: o.value ?? o }, labelFn ? labelFn(o) : (o.label ?? o))));
}

function matches(a, f) {
  if (f.hall_id && a.hall_id !== f.hall_id) return false;
  if (f.window_id && a.window_id !== f.window_id) return false;
  if (f.rule && a.rule !== f.rule) return false;
  if (f.severity && a.severity !== f.severity) return false;
  if (f.status && a.status !== f.status) return false;
  if (f.q) {
    const text = [a.rule, a.rule_name, a.window_name, a.window_id, a.hall_id, a.summary].join(" ").toLowerCase();
    if (!text.includes(f.q.toLowerCase())) return false;
  }
  return true;
}

export async function renderFeed(main) {
  const rules = await api("/api/v1/console/rules");
  const windows = ctx.halls.flatMap((hall) => hall.windows.map((w) => ({ value: w.id, label: `${w.number} ${w.name}` })));
  const form = h("form.filters#filters",
    h("label", t("hall"), select("hall_id", ctx.halls.map((x) => ({ value: x.id, label: x.name })))),
    h("label", t("window"), select("window_id", windows)),
    h("label", t("rule"), select("rule", Object.entries(rules).map(([k, zh]) => ({ value: k, label: ruleName(k, zh) })))),
    h("label", t("severity"), select("severity", SEVERITIES, (s) => t("sev_" + s))),
    h("label", t("status"), select("status", STATUSES, (s) => t("st_" + s))),
    h("label", t("date"), h("input", { type: "date", name: "date", id: "f-date" })),
    h("label.grow", t("search"), h("input", { type: "search", name: "q", id: "f-q", placeholder: t("search") })));
  const tbody = h("tbody#alert-rows");
  const empty = h("p.muted#no-alerts", t("no_alerts"));
  const sound = h("button.link#sound", {
    onclick: () => { soundOn = !soundOn; localStorage.setItem("hw.sound", soundOn ? "on" : "off"); sound.textContent = soundOn ? t("sound_on") : t("sound_off"); if (soundOn) beep(); },
  }, soundOn ? t("sound_on") : t("sound_off"));
  const table = h("table.grid.stack#alert-table",
    h("thead", h("tr", [t("time"), t("hall"), t("window"), t("rule"), t("severity"), t("status"), ""].map((x) => h("th", x)))),
    tbody);
  mount(main, h("div.page-head", h("h2", t("nav_feed")), sound), form, table, empty);

  const filters = () => Object.fromEntries([...new FormData(form).entries()].filter(([, v]) => v));
  async function load() {
    const f = filters();
    const rows = await api("/api/v1/console/alerts?" + new URLSearchParams(f));
    tbody.replaceChildren(...rows.map((a) => alertRow(a)));
    empty.hidden = rows.length > 0;
  }
  form.addEventListener("change", load);
  let timer = null;
  form.addEventListener("input", (e) => { if (e.target.name === "q") { clearTimeout(timer); timer = setTimeout(load, 250); } });
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  await load();

  if (unsubscribe) unsubscribe();
  unsubscribe = onEvent(({ type, data }) => {
    if (!document.body.contains(tbody)) return;
    if (type === "alert") {
      if (!matches(data, filters()) || filters().date) return;
      tbody.querySelector(`tr[data-alert-id="${data.id}"]`)?.remove();
      tbody.prepend(alertRow(data, true));
      empty.hidden = true;
    } else if (type === "alert.updated") {
      const row = tbody.querySelector(`tr[data-alert-id="${data.id}"]`);
      if (row) row.replaceWith(alertRow(data));
    }
  });
}
