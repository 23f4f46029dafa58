// 统计报表: alert counts per day / week / month by window, rule or staff (stacked bars and the total trend,
// drawn with the vendored Apache ECharts), the same figures as a table, and the printable 督查通报.
import { api, h, mount } from "./api.js";
import { getLang, ruleName, t } from "./i18n.js";
import { ctx } from "./state.js";
import { fmtNum, hallPicker } from "./ops_util.js";

const TOP = 8;
let echartsReady = null;
let chart = null;

export function loadECharts() {
  if (window.echarts) return Promise.resolve(window.echarts);
  echartsReady = echartsReady || new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = "/console/static/vendor/echarts.min.js";
    s.onload = () => resolve(window.echarts);
    s.onerror = () => { echartsReady = null; reject(new Error("echarts")); };
    document.head.append(s);
  });
  return echartsReady;
}

function seriesName(group, s) {
  if (s.key === null) return group === "staff" ? t("stats_unassigned") : t("stats_no_window");
  if (group === "rule") return ruleName(s.key, s.name);
  return s.name || s.key;
}

function bucketLabel(b, period) {
  const d = new Date(`${b}T00:00:00`);
  const zh = getLang() === "zh";
  if (period === "month") return zh ? `${d.getFullYear()}年${d.getMonth() + 1}月` : d.toLocaleDateString("en-GB", { month: "short", year: "numeric" });
  if (period === "week") return t("stats_week_of", { d: zh ? `${d.getMonth() + 1}月${d.getDate()}日` : d.toLocaleDateString("en-GB", { day: "numeric", month: "short" }) });
  return zh ? `${d.getMonth() + 1}月${d.getDate()}日` : d.toLocaleDateString("en-GB", { day: "numeric", month: "short" });
}

function table(s) {
  const labels = s.buckets.map((b) => bucketLabel(b, s.period));
  return h("div.table-wrap", h("table.grid.stats-table#stats-table",
    h("thead", h("tr", h("th", t("stats_group_" + s.group)), labels.map((l) => h("th.num", l)), h("th.num", t("stats_total")))),
    h("tbody", s.series.map((x) => h("tr", { dataset: { key: x.key ?? "" } }, h("td", seriesName(s.group, x)),
      x.counts.map((n) => h("td.num", n ? fmtNum(n) : "·")), h("td.num", h("strong", fmtNum(x.total)))))),
    h("tfoot", h("tr", h("th", t("stats_total")), s.per_bucket.map((n) => h("th.num", fmtNum(n))), h("th.num", fmtNum(s.total))))));
}

async function draw(el, s) {
  let echarts;
  try { echarts = await loadECharts(); } catch { mount(el, h("p.error", t("stats_chart_failed"))); return; }
  if (chart) { chart.dispose(); chart = null; }
  chart = echarts.init(el, null, { renderer: "canvas" });
  const narrow = el.clientWidth < 600;
  const short = (b) => { const [y, m, d] = b.split("-").map(Number); return s.period === "month" ? `${y}/${m}` : `${m}/${d}`; };
  const labels = s.buckets.map((b) => (narrow ? short(b) : bucketLabel(b, s.period)));
  const top = s.series.slice(0, TOP);
  const rest = s.series.slice(TOP);
  const bars = top.map((x) => ({ name: seriesName(s.group, x), type: "bar", stack: "n", data: x.counts, emphasis: { focus: "series" } }));
  if (rest.length) bars.push({ name: t("stats_other"), type: "bar", stack: "n",
    data: s.buckets.map((_, i) => rest.reduce((n, x) => n + x.counts[i], 0)) });
  bars.push({ name: t("stats_total"), type: "line", data: s.per_bucket, symbolSize: 5, lineStyle: { width: 2 }, itemStyle: { color: "#102a43" } });
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis", valueFormatter: (v) => fmtNum(v) },
    legend: { type: "scroll", top: 0 },
    grid: { left: 40, right: 16, top: narrow ? 56 : 40, bottom: 40 },
    xAxis: { type: "category", data: labels, axisLabel: { rotate: narrow || labels.length > 14 ? 45 : 0 } },
    yAxis: { type: "value", minInterval: 1, axisLabel: { formatter: (v) => fmtNum(v) } },
    series: bars,
  });
  el.dataset.ready = "1";
}

async function load(body, hallId, f) {
  // without dates the server picks the range ending today in the hall's time zone
  const q = new URLSearchParams({ period: f.period.value, group: f.group.value });
  if (f.start.value && f.end.value) { q.set("start", f.start.value); q.set("end", f.end.value); }
  let s;
  const seq = f.seq = (f.seq || 0) + 1;
  try { s = await api(`/api/v1/console/halls/${encodeURIComponent(hallId)}/stats?${q}`); }
  catch (ex) { if (seq === f.seq) mount(body, h("p.error#stats-error", t("stats_bad_range"))); return; }
  if (seq !== f.seq) return;   // a newer request (other hall or filter) is on its way
  f.start.value = s.start;
  f.end.value = s.end;
  if (f.reportDay && !f.reportDay.value) f.reportDay.value = s.end;
  const chartEl = h("div.stats-chart#stats-chart");
  const sev = s.by_severity || {};
  mount(body,
    h("div.stats-kpis#stats-kpis",
      h("div.kpi", h("span.kpi-n#kpi-total", fmtNum(s.total)), h("span.muted", t("stats_kpi_total"))),
      h("div.kpi", h("span.kpi-n", fmtNum(s.confirmed)), h("span.muted", t("stats_kpi_confirmed"))),
      h("div.kpi", h("span.kpi-n", fmtNum(sev.critical || 0)), h("span.muted", t("stats_kpi_critical"))),
      h("div.kpi", h("span.kpi-n", fmtNum(s.dismissed)), h("span.muted", t("stats_kpi_dismissed")))),
    s.total ? chartEl : h("p.muted#stats-empty", t("stats_empty")),
    s.total ? table(s) : null);
  if (s.total) await draw(chartEl, s);
}

export async function renderStats(main) {
  if (!ctx.halls.length) { mount(main, h("p.muted", t("none"))); return; }
  const f = {
    period: h("select#stats-period", ["day", "week", "month"].map((p) => h("option", { value: p }, t("stats_period_" + p)))),
    group: h("select#stats-group", ["rule", "window", "staff"].map((g) => h("option", { value: g }, t("stats_by_" + g)))),
    start: h("input#stats-start", { type: "date" }),
    end: h("input#stats-end", { type: "date" }),
  };
  const body = h("div#stats-body", t("loading"));
  const pick = hallPicker("stats-hall", () => { f.start.value = ""; f.end.value = ""; load(body, pick.value, f); });
  f.period.addEventListener("change", () => { f.start.value = ""; f.end.value = ""; load(body, pick.value, f); });
  for (const k of ["group", "start", "end"]) f[k].addEventListener("change", () => load(body, pick.value, f));
  const rKind = h("select#report-kind", h("option", { value: "daily" }, t("report_daily")), h("option", { value: "weekly" }, t("report_weekly")));
  const rDay = f.reportDay = h("input#report-day", { type: "date" });
  const openReport = h("button.primary#report-open", { type: "button", onclick: () => {
    location.hash = `#/report?hall=${encodeURIComponent(pick.value)}&kind=${rKind.value}&day=${rDay.value}`;
  } }, t("report_open"));
  mount(main,
    h("div.page-head", h("h2", t("nav_stats")), pick),
    h("div.filters.btns", h("label", t("stats_period"), " ", f.period), h("label", t("stats_group"), " ", f.group),
      h("label", t("stats_start"), " ", f.start), h("label", t("stats_end"), " ", f.end)),
    body,
    h("section.report-box", h("h3", t("report_title")), h("div.btns", rKind, rDay, openReport), h("p.muted.small", t("report_hint"))));
  await load(body, pick.value, f);
  window.addEventListener("resize", () => chart && chart.resize(), { once: true });
}
