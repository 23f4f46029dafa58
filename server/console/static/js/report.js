// 督查通报: the printable daily or weekly report of a hall, always in Chinese (an official document), with
// figures formatted the Chinese way; the page chrome (print, back) follows the UI language.
import { api, h, mount } from "./api.js";
import { t } from "./i18n.js";

const SAFETY_ZH = { passed: "通过", failed: "未通过", incomplete: "部分未能判定", pending: "进行中" };
const nf = new Intl.NumberFormat("zh-CN");

function zhDate(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return `${y}年${m}月${d}日`;
}

let hallTz = "Asia/Shanghai";
function zhTime(iso) {
  return new Date(iso).toLocaleString("zh-CN", { timeZone: hallTz, hour12: false,
    month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

function zhDuration(s) {
  if (s === null || s === undefined) return "—";
  if (s < 60) return `${nf.format(Math.round(s))}秒`;
  return `${nf.format(Math.round(s / 60))}分钟`;
}

function rows(list, cells) {
  return list.length ? list.map((x) => h("tr", cells(x).map((c) => h("td", c)))) : [h("tr", h("td", { colspan: 9 }, "无"))];
}

export async function renderReport(main, query) {
  const p = new URLSearchParams(query || "");
  const hall = p.get("hall");
  const kind = p.get("kind") === "weekly" ? "weekly" : "daily";
  const q = new URLSearchParams({ kind });
  if (p.get("day")) q.set("day", p.get("day"));
  const r = await api(`/api/v1/console/halls/${encodeURIComponent(hall)}/report?${q}`);
  hallTz = r.hall.timezone || "Asia/Shanghai";
  const period = kind === "daily" ? `（日报）${zhDate(r.start)}` : `（周报）${zhDate(r.start)}至${zhDate(r.end)}`;
  const sev = r.by_severity || {};
  const safetyTxt = r.safety_checks.length
    ? `下班安全检查${nf.format(r.safety_checks.length)}次（通过${nf.format(r.safety_checks.filter((s) => s.status === "passed").length)}次）`
    : "未开展下班安全检查";
  mount(main,
    h("div.page-head.no-print", h("a", { href: "#/stats" }, "← " + t("nav_stats")),
      h("div.btns", h("button.primary#report-print", { type: "button", onclick: () => window.print() }, t("report_print")))),
    h("article.report#report", { lang: "zh-CN" },
      h("h1.report-title", `${r.hall.name}督查通报`),
      h("p.report-period", period),
      h("h3", "一、总体情况"),
      h("p#report-summary", `本期监控共发现问题${nf.format(r.total)}起，其中经核实违规${nf.format(r.confirmed)}起，` +
        `紧急告警${nf.format(sev.critical || 0)}起；另有误报${nf.format(r.dismissed)}起未计入。` +
        `开展一键查岗${nf.format(r.duty_checks.count)}次（完成${nf.format(r.duty_checks.complete)}次），${safetyTxt}，` +
        `登记巡查记录${nf.format(r.patrol_findings)}条。`),
      h("h3", "二、问题分类统计"),
      h("table.grid.report-table#report-rules", h("thead", h("tr", h("th", "问题类型"), h("th.num", "次数"))),
        h("tbody", rows(r.by_rule, (x) => [x.name, nf.format(x.count)]))),
      h("h3", "三、各窗口情况"),
      h("table.grid.report-table#report-windows", h("thead", h("tr", h("th", "窗口"), h("th.num", "次数"))),
        h("tbody", rows(r.by_window, (x) => [x.name || "非窗口区域（设备、出口等）", nf.format(x.count)]))),
      h("h3", "四、经核实的违规明细"),
      h("table.grid.report-table#report-confirmed", h("thead", h("tr", h("th", "时间"), h("th", "窗口"), h("th", "人员"), h("th", "问题"), h("th", "持续"))),
        h("tbody", rows(r.confirmed_list, (x) => [zhTime(x.at), x.window || "—", x.staff || "—", x.rule_name, zhDuration(x.duration_s)]))),
      h("h3", "五、下班安全检查"),
      h("table.grid.report-table#report-safety", h("thead", h("tr", h("th", "检查时间"), h("th", "结果"), h("th", "签字人"))),
        h("tbody", rows(r.safety_checks, (x) => [zhTime(x.at), SAFETY_ZH[x.status] || x.status, x.signed_by || "未签字"]))),
      h("div.report-sign",
        h("p", `编制：${r.generated_by}　　审核：________　　签发：________`),
        h("p", `生成时间：${zhTime(r.generated_at)}`))));
}
