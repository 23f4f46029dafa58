// Live alert feed: filters + search over the alert list (most urgent first, paged), grouping of repeated alerts,
// CSV export; new alerts are pushed over SSE (the cues themselves are shown on every page by alarm.js).
import { api, mount, beep, h, onEvent } from "./api.js";
import { fmtTime, getLang, ruleName, t } from "./i18n.js";
import { ctx, hallName } from "./state.js";
import "./console_i18n.js";

const SEVERITIES = ["info", "warning", "major", "critical"];
const STATUSES = ["open", "acknowledged", "confirmed", "dismissed", "closed", "escalated"];
const PAGE = 100;
let unsubscribe = null;
let soundOn = localStorage.getItem("hw.sound") !== "off";

export function alertRow(a, fresh = false, count = 1) {
  return h("tr", { class: `sev-${a.severity}${fresh ? " fresh" : ""}`, dataset: { alertId: a.id, rule: a.rule } },
    h("td", fmtTime(a.started_at)),
    h("td.nowrap", hallName(a.hall_id)),
    h("td.location", a.location || "—"),
    h("td", ruleName(a.rule, a.rule_name), count > 1 ? h("span.badge.group-count", `×${count}`) : null),
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
  if (f.status === "escalated" ? !a.escalated : (f.status && a.status !== f.status)) return false;
  if (f.q) {
    const text = [a.rule, a.rule_name, a.window_name, a.window_id, a.location, a.hall_id, a.summary].join(" ").toLowerCase();
    if (!text.includes(f.q.toLowerCase())) return false;
  }
  return true;
}

// rows of the same rule at the same place and status collapse into one, counted (newest shown)
function grouped(rows) {
  const out = new Map();
  for (const a of rows) {
    const key = `${a.hall_id}|${a.rule}|${a.location}|${a.status}|${a.escalated}`;
    const g = out.get(key);
    if (g) g.count += 1; else out.set(key, { a, count: 1 });
  }
  return [...out.values()];
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
    h("label.grow", t("search"), h("input", { type: "search", name: "q", id: "f-q", placeholder: t("search"), maxlength: 200 })),
    h("label.check", h("input#f-group", { type: "checkbox", name: "group" }), t("feed_group")));
  const tbody = h("tbody#alert-rows");
  const empty = h("p.muted#no-alerts", { hidden: true }, t("no_alerts"));
  const more = h("button#more-alerts", { type: "button", hidden: true }, t("feed_more"));
  const exportLink = h("a.button#export-alerts", { href: "#", download: "" }, t("feed_export"));
  const sound = h("button.link#sound", {
    onclick: () => { soundOn = !soundOn; localStorage.setItem("hw.sound", soundOn ? "on" : "off"); sound.textContent = soundOn ? t("sound_on") : t("sound_off"); if (soundOn) beep(); },
  }, soundOn ? t("sound_on") : t("sound_off"));
  const table = h("table.grid.stack#alert-table",
    h("thead", h("tr", [t("time"), t("hall"), t("feed_location"), t("rule"), t("severity"), t("status"), ""].map((x) => h("th", x)))),
    tbody);
  mount(main, h("div.page-head", h("h2", t("nav_feed")), h("div.btns", exportLink, sound)), form, table, empty, more);

  const filters = () => Object.fromEntries([...new FormData(form).entries()].filter(([k, v]) => v && k !== "group"));
  let rows = [];
  const draw = () => {
    const items = form.elements.group.checked ? grouped(rows) : rows.map((a) => ({ a, count: 1 }));
    tbody.replaceChildren(...items.map(({ a, count }) => alertRow(a, false, count)));
    empty.hidden = rows.length > 0;
  };
  async function load(append = false) {
    const f = filters();
    const params = new URLSearchParams({ ...f, limit: PAGE, offset: append ? rows.length : 0 });
    exportLink.href = "/api/v1/console/alerts/export.csv?" + new URLSearchParams({ ...f, lang: getLang() });
    const page = await api("/api/v1/console/alerts?" + params);
    rows = append ? rows.concat(page) : page;
    more.hidden = page.length < PAGE;
    draw();
  }
  more.addEventListener("click", () => load(true));
  form.addEventListener("change", (e) => { if (e.target.name === "group") draw(); else load(); });
  let timer = null;
  form.addEventListener("input", (e) => { if (e.target.name === "q") { clearTimeout(timer); timer = setTimeout(load, 250); } });
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  await load();

  if (unsubscribe) unsubscribe();
  unsubscribe = onEvent(({ type, data }) => {
    if (!document.body.contains(tbody)) return;
    if (type === "alert") {
      if (!matches(data, filters()) || filters().date) return;
      rows = [data, ...rows.filter((a) => a.id !== data.id)];
      if (form.elements.group.checked) { draw(); return; }
      tbody.querySelector(`tr[data-alert-id="${data.id}"]`)?.remove();
      tbody.prepend(alertRow(data, true));
      empty.hidden = true;
    } else if (type === "alert.updated") {
      rows = rows.map((a) => (a.id === data.id ? data : a));
      const row = tbody.querySelector(`tr[data-alert-id="${data.id}"]`);
      if (row && !form.elements.group.checked) row.replaceWith(alertRow(data));
      else if (form.elements.group.checked) draw();
    }
  });
}
