// One window's or staff member's breakdown: by category and item, every line (rule, time, duration tier, points,
// doubling, attribution, alert link, evidence thumbnails), the monthly trend chart; supervisors reassign findings.
import { api, evidenceUrl, h, mount } from "./api.js";
import { fmtTime, ruleName, t } from "./i18n.js";
import { ctx } from "./state.js";
import { openDialog } from "./dialog.js";
import { approvalNote } from "./people_util.js";
import { basisName, categoryName, fmtDuration, itemName, noteText, periodRangeUtc, pts, signed, subjectName,
  tierName } from "./assessment_util.js";

// finding UUID → alert id, for the link to #/alert/<id> (findings of the period, looked up once per sheet)
async function alertIds(st) {
  if (st.findings) return st.findings;
  const range = periodRangeUtc(st.period);
  const map = new Map();
  if (range) {
    const q = new URLSearchParams({ hall: st.hall, since: range.since, until: range.until, limit: "1000" });
    try {
      for (const f of await api(`/api/v1/findings?${q}`)) if (f.alert_id != null) map.set(f.finding_id, f.alert_id);
    } catch (ex) { console.warn("alert links unavailable", ex); }
  }
  st.findings = map;
  return map;
}

function evidenceCell(line, sheet) {
  const meta = Object.fromEntries(sheet.evidence.map((e) => [e.sha256, e]));
  return line.evidence.map((sha) => {
    const m = meta[sha] || {};
    const url = evidenceUrl(sha);
    if ((m.content_type || "").startsWith("video/") || m.kind === "clip") {
      return h("a.clip-link", { href: url, target: "_blank", rel: "noopener" }, `▶ ${t("clip_link")}`);
    }
    return h("a.asm-evidence", { href: url, target: "_blank", rel: "noopener", title: sha },
      h("img.thumb.asm-thumb", { src: url, alt: `${t("evidence")} ${sha.slice(0, 12)}`, loading: "lazy", dataset: { sha } }));
  });
}

function reassign(env, line) {
  const { sheet, st } = env;
  const who = h("select#reassign-staff", h("option", { value: "" }, t("window_only")),
    sheet.staff.map((s) => h("option", { value: s.id, selected: s.id === line.staff_id }, `${s.name} (${s.id})`)));
  const reason = h("textarea#reassign-reason", { rows: 3, required: true });
  openDialog({
    id: "dlg-reassign", title: `${t("reassign")} · ${itemName(env.scheme, line.item_id)} · ${fmtTime(line.at)}`,
    body: [h("label", t("reassign_to"), who), h("label", t("reason"), reason)],
    onOk: async () => {
      if (reason.value.trim().length < 2) throw new Error(t("reason_needed"));
      await api(`/api/v1/assessment/findings/${encodeURIComponent(line.ref_id)}/reassign`, { method: "POST",
        body: { staff_id: who.value || null, reason: reason.value.trim() } });
      env.flash(sheet.signoff ? `${t("reassign_done")} — ${t("reassign_signed_hint")}` : t("reassign_done"));
      await env.reload(true);
    },
  });
}

function pointsCell(line, sheet) {
  const doubled = line.kind === "deduction" && line.multiplier > 1;
  return h("td.num", { class: `num pts-${line.kind}` }, line.kind === "not_deducted" ? "0" : signed(line.points, line.kind),
    doubled ? h("span.badge.doubled", { title: t("monthly_doubling", { n: sheet.scheme.doubling.threshold }) },
      `${pts(line.base_points)}×${pts(line.multiplier)} ${t("doubled")}`) : null,
    line.month_count > 1 && line.kind === "deduction" ? h("div.muted.small", t("nth_in_month", { n: line.occurrence, m: line.month_count })) : null);
}

function lineRow(env, line, alerts, names) {
  const { scheme, rules, sheet } = env;
  const alertId = line.source === "finding" ? alerts.get(line.ref_id) : null;
  const person = line.staff_id ? `${names[line.staff_id] || line.staff_id}` : "—";
  const canMove = ctx.can("assess") && line.source === "finding" && line.attribution !== "window";
  return h("tr", { class: `line-${line.kind}${line.multiplier > 1 ? " line-doubled" : ""}`,
    dataset: { ref: line.ref_id, kind: line.kind, multiplier: line.multiplier, item: line.item_id } },
  h("td", fmtTime(line.at)),
  h("td", { title: categoryName(scheme, line.category_id) }, h("div", itemName(scheme, line.item_id)),
    line.rule ? h("div.muted.small", `${t("rule")}: ${ruleName(line.rule, rules[line.rule])}`) : null),
  h("td", h("div.nowrap", line.duration_s != null ? fmtDuration(line.duration_s) : "—"),
    line.tier ? h("div.small", tierName(scheme, line.item_id, line.tier)) : null,
    line.note && !line.approval ? h("div.muted.small", noteText(line.note)) : null,
    approvalNote(line.approval, names)),
  pointsCell(line, sheet),
  h("td.nowrap", person, h("div.muted.small", basisName(line.attribution))),
  h("td.nowrap", alertId ? h("a.alert-link", { href: `#/alert/${alertId}` }, `${t("alert")} #${alertId}`)
    : h("span.muted.small", line.source === "finding" ? line.ref_id.slice(0, 8) : line.ref_id)),
  h("td.thumbs", evidenceCell(line, sheet)),
  h("td.noprint", canMove ? h("button.small.reassign", { onclick: () => reassign(env, line) }, t("reassign")) : null));
}

function summaryTable(id, head, rows) {
  return h(`table.grid.compact#${id}`, h("thead", h("tr", head.map((x, i) => h("th", { class: i ? "num" : "" }, x)))),
    h("tbody", rows.length ? rows : h("tr", h("td", { colspan: head.length, class: "muted" }, "—"))));
}

export async function renderDetail(el, env) {
  const { st, sheet, scheme } = env;
  const entry = sheet[st.tab].find((e) => e.id === st.subject);
  if (!entry) { mount(el, h("p.muted", t("asm_select_hint"))); return; }
  const r = sheet.ranking[st.tab].find((x) => x.subject_id === entry.id);
  const names = Object.fromEntries(sheet.staff.map((s) => [s.id, s.name]));
  const s = entry.sheet;
  mount(el, h("p.muted", t("loading")));
  const alerts = s.lines.some((ln) => ln.source === "finding") ? await alertIds(st) : new Map();
  if (st.subject !== entry.id) return;  // another row was clicked meanwhile
  const kind = st.tab === "windows" ? "windows" : "staff";
  const trendUrl = `/api/v1/assessment/halls/${encodeURIComponent(st.hall)}/sheets/${encodeURIComponent(st.period)}/${kind}/${encodeURIComponent(entry.id)}/trend.svg`;
  const cats = Object.entries(s.by_category).map(([c, v]) => h("tr", h("td", categoryName(scheme, c)), h("td.num", v > 0 ? `+${pts(v)}` : pts(v).replace("-", "−"))));
  const items = Object.entries(s.by_item).map(([i, v]) => h("tr", { dataset: { item: i } }, h("td", itemName(scheme, i)),
    h("td.num", String(v.count)), h("td.num", v.points > 0 ? `+${pts(v.points)}` : pts(v.points).replace("-", "−"))));
  mount(el,
    h("div.detail-head",
      h("h3#asm-detail-title", `${subjectName(entry, kind)} · ${sheet.period}`),
      h("div.detail-score", h("span.big-score#asm-detail-score", pts(s.score)),
        h("span.muted", ` ${t("rank_of", { rank: r.rank, of: sheet[kind].length })}`))),
    h("p.muted", `${t("base")} ${pts(s.base_points)}　${t("deductions")} ${signed(s.deduction_total, "deduction")}　${t("bonuses")} ${signed(s.bonus_total, "bonus")}`
      + (kind === "staff" && entry.department ? `　${entry.department}` : "")),
    h("div.detail-grid",
      h("div", h("h4", t("by_category")), summaryTable("asm-by-category", [t("category"), t("points")], cats),
        h("h4", t("by_item")), summaryTable("asm-by-item", [t("entry_item"), t("count"), t("points")], items)),
      h("figure.trend", h("figcaption", t("trend")), h("img#asm-trend", { src: trendUrl, alt: t("trend") }))),
    h("h4", t("breakdown")),
    s.lines.length ? h("div.scroll", h("table.grid.asm-lines#asm-lines",
      h("thead", h("tr", [t("time"), t("entry_item"), `${t("duration")} / ${t("tier")}`, t("points"),
        t("person"), t("alert"), t("evidence"), ""].map((x, i) => h("th", { class: i === 3 ? "num" : "" }, x)))),
      h("tbody", s.lines.map((ln) => lineRow(env, ln, alerts, names))))) : h("p.muted#asm-no-lines", t("no_lines")));
}
