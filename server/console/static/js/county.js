// County view: every hall of the user's region on one board (open alerts, staffed windows, devices offline, today's
// safety check), rankings of halls and windows by assessment deductions, and a drill-down into one hall.
import { api, mount, h } from "./api.js";
import { addStrings, fmtTime, getLang, ruleName, t } from "./i18n.js";

addStrings({
  nav_county: "区县总览", role_county: "区县/市级督查", county_title: "辖区大厅总览", county_halls: "大厅数",
  county_region: "所属区域", county_open_alerts: "未处理告警", county_escalated: "已升级", county_staffed: "在岗窗口",
  county_devices_offline: "离线设备", county_safety_today: "今日下班安全检查", county_safety_none: "未检查",
  county_safety_missing: "今日未检查", county_safety_failed: "检查不合格", county_rank_halls: "大厅扣分排名",
  county_rank_windows: "窗口扣分排名", county_rank: "名次", county_deductions: "扣分", county_score: "得分",
  county_period: "考核周期", county_refresh: "刷新", county_back: "返回总览", county_devices: "离线设备明细",
  county_windows: "窗口状态", county_no_halls: "辖区内暂无大厅", county_kind: "类型", county_last_seen: "最后在线",
  county_edge: "边缘端", county_updated: "更新于",
}, {
  nav_county: "County view", role_county: "County / city office", county_title: "Halls of the region",
  county_halls: "Halls", county_region: "Region", county_open_alerts: "Open alerts", county_escalated: "Escalated",
  county_staffed: "Staffed windows", county_devices_offline: "Devices offline", county_safety_today: "Today's safety check",
  county_safety_none: "not run", county_safety_missing: "No check today", county_safety_failed: "Checks failed",
  county_rank_halls: "Halls by deductions", county_rank_windows: "Windows by deductions", county_rank: "Rank",
  county_deductions: "Deductions", county_score: "Score", county_period: "Period", county_refresh: "Refresh",
  county_back: "Back to the overview", county_devices: "Devices not online", county_windows: "Windows",
  county_no_halls: "No halls in this region", county_kind: "Kind", county_last_seen: "Last seen",
  county_edge: "Edge", county_updated: "Updated",
});

const num = (n, digits = 0) => (n === null || n === undefined ? "—"
  : Number(n).toLocaleString(getLang() === "zh" ? "zh-CN" : "en-GB",
    { minimumFractionDigits: digits, maximumFractionDigits: digits }));

function safetyCell(chk) {
  if (!chk) return h("span.muted", t("county_safety_none"));
  const key = { passed: "outcome_passed", failed: "outcome_failed", incomplete: "outcome_incomplete",
    pending: "outcome_pending" }[chk.status] || chk.status;
  return h("span", { class: chk.status === "failed" ? "bad" : "", dataset: { status: chk.status } }, t(key));
}

function stat(label, value, bad = false) {
  return h(bad ? "div.county-stat.bad" : "div.county-stat", h("div.county-stat-value", value), h("div.muted", label));
}

function table(head, rows) {
  return h("table.grid.county", h("thead", h("tr", head.map((x) => h("th", x)))), h("tbody", rows));
}

async function renderOverview(main) {
  const [board, rank] = await Promise.all([api("/api/v1/county/board"), api("/api/v1/county/ranking")]);
  const tot = board.totals;
  const rows = board.halls.map((r) => h("tr", { dataset: { hallId: r.hall_id } },
    h("td", h("a", { href: `#/county/${encodeURIComponent(r.hall_id)}` }, r.name)),
    h("td.muted", r.region.join(" / ") || "—"),
    h(r.open_alerts ? "td.num.bad" : "td.num", num(r.open_alerts),
      r.escalated_alerts ? h("span.muted", ` (${t("county_escalated")} ${num(r.escalated_alerts)})`) : null),
    h("td.num", `${num(r.staffed_windows)} / ${num(r.windows)}`),
    h(r.devices_offline ? "td.num.bad" : "td.num", num(r.devices_offline)),
    h("td", safetyCell(r.safety_check))));
  mount(main,
    h("div.page-head", h("h2", t("county_title")),
      h("span.muted", `${t("county_updated")} ${fmtTime(board.at)}`),
      h("button.link#county-refresh", { onclick: () => renderOverview(main) }, t("county_refresh"))),
    h("div.county-stats",
      stat(t("county_halls"), num(tot.halls)),
      stat(t("county_open_alerts"), num(tot.open_alerts), tot.open_alerts > 0),
      stat(t("county_staffed"), `${num(tot.staffed_windows)} / ${num(tot.windows)}`),
      stat(t("county_devices_offline"), num(tot.devices_offline), tot.devices_offline > 0),
      stat(t("county_safety_failed"), num(tot.safety_failed), tot.safety_failed > 0),
      stat(t("county_safety_missing"), num(tot.safety_missing))),
    board.halls.length ? table([t("hall"), t("county_region"), t("county_open_alerts"), t("county_staffed"),
      t("county_devices_offline"), t("county_safety_today")], rows) : h("p.muted", t("county_no_halls")),
    h("h3", `${t("county_rank_halls")} · ${t("county_period")} ${rank.period}`),
    table([t("county_rank"), t("hall"), t("county_deductions")], rank.halls.map((r) => h("tr",
      h("td.num", num(r.rank)), h("td", h("a", { href: `#/county/${encodeURIComponent(r.hall_id)}` }, r.name)),
      h("td.num", num(r.deductions, 1))))),
    h("h3", t("county_rank_windows")),
    table([t("county_rank"), t("hall"), t("window"), t("county_deductions"), t("county_score")],
      rank.windows.slice(0, 20).map((r) => h("tr", h("td.num", num(r.rank)), h("td", r.hall_name),
        h("td", `${r.window_id} ${r.window_name}`), h("td.num", num(r.deductions, 1)), h("td.num", num(r.score, 1))))));
}

async function renderHall(main, hallId) {
  const r = await api(`/api/v1/county/halls/${encodeURIComponent(hallId)}`);
  mount(main,
    h("div.page-head", h("a#county-back", { href: "#/county" }, `← ${t("county_back")}`), h("h2", r.name),
      h("span.muted", r.region.join(" / "))),
    h("div.county-stats",
      stat(t("county_open_alerts"), num(r.open_alerts), r.open_alerts > 0),
      stat(t("county_staffed"), `${num(r.staffed_windows)} / ${num(r.windows)}`),
      stat(t("county_devices_offline"), num(r.devices_offline), r.devices_offline > 0),
      h("div.county-stat", h("div.county-stat-value", safetyCell(r.safety_check)),
        h("div.muted", t("county_safety_today")))),
    h("h3", t("county_windows")),
    table([t("window"), t("status"), t("time")], r.window_list.map((w) => h("tr", { dataset: { window: w.id } },
      h("td", `${w.number} ${w.name}`), h("td", { class: `state-${w.state}` }, t(w.state)), h("td", fmtTime(w.since))))),
    h("h3", t("county_open_alerts")),
    r.alerts.length ? table([t("time"), t("rule"), t("severity"), t("status")], r.alerts.map((a) => h("tr",
      h("td", fmtTime(a.created_at)), h("td", ruleName(a.rule)), h("td", t(`sev_${a.severity}`)),
      h("td", t(`st_${a.status}`), a.escalated ? h("span.bad", ` · ${t("st_escalated")}`) : null)))) : h("p.muted", t("no_alerts")),
    h("h3", t("county_devices")),
    r.devices.length ? table([t("county_kind"), "ID", t("county_last_seen")], r.devices.map((d) => h("tr",
      h("td", d.kind === "edge" ? t("county_edge") : t(d.kind)), h("td", d.name ? `${d.id} ${d.name}` : d.id),
      h("td", d.health ? d.health : fmtTime(d.last_seen))))) : h("p.muted", t("none")));
}

export async function renderCounty(main, hallId) {
  if (hallId) return renderHall(main, decodeURIComponent(hallId));
  return renderOverview(main);
}
