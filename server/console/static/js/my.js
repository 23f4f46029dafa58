// 我的考核 (a clerk's own record): the clerk's sheet for a month or quarter, each finding with its evidence, and
// 申诉 (appeal) within the appeal period; the clerk's appeals and the assessment office's decisions.
import { api, h, mount } from "./api.js";
import { fmtTime, getLang, ruleName, t } from "./i18n.js";
import { openDialog } from "./dialog.js";
import { currentQuarter, fmtDuration, periodOptions, pts, signed } from "./assessment_util.js";
import { approvalNote, errorText, hallTz, statusBadge } from "./people_util.js";

const evidenceUrl = (sha) => `/api/v1/people/me/evidence/${sha}`;

function itemLabel(sheet, id) {
  const it = sheet.items[id];
  if (!it) return id;
  return getLang() === "zh" ? it.name : (it.name_en || it.name);
}

function thumbs(line, sheet) {
  const meta = Object.fromEntries(sheet.evidence.map((e) => [e.sha256, e]));
  return line.evidence.map((sha) => {
    const m = meta[sha] || {};
    if ((m.content_type || "").startsWith("video/") || m.kind === "clip") {
      return h("a.clip-link", { href: evidenceUrl(sha), target: "_blank", rel: "noopener" }, `▶ ${t("clip_link")}`);
    }
    return h("a", { href: evidenceUrl(sha), target: "_blank", rel: "noopener" },
      h("img.thumb.my-thumb", { src: evidenceUrl(sha), alt: t("evidence"), loading: "lazy" }));
  });
}

function appealDialog(line, sheet, done) {
  const reason = h("textarea#appeal-reason", { rows: 5, required: true, maxlength: 4000, placeholder: t("appeal_reason_hint") });
  openDialog({
    id: "dlg-appeal",
    title: `${t("appeal")} · ${itemLabel(sheet, line.item_id)} · ${fmtTime(line.at)}`,
    okLabel: t("appeal_submit"),
    body: [h("p.muted.small", t("appeal_until", { at: fmtTime(line.appeal_until) })), h("label", t("appeal_reason"), reason)],
    onOk: async () => {
      if (reason.value.trim().length < 2) throw new Error(t("reason_needed"));
      await api("/api/v1/people/me/appeals", { method: "POST", body: { finding_id: line.ref_id, reason: reason.value.trim() } });
      await done(t("appeal_filed"));
    },
  });
}

function appealCell(line, sheet, reload) {
  if (line.appeal) {
    return h("div", statusBadge("ap", line.appeal.status),
      line.appeal.comment ? h("div.small.muted", line.appeal.comment) : null);
  }
  if (line.can_appeal) {
    return h("div", h("button.small.appeal", { onclick: () => appealDialog(line, sheet, reload) }, t("appeal")),
      h("div.small.muted", t("appeal_until", { at: fmtTime(line.appeal_until) })));
  }
  return h("span.muted.small", line.source === "finding" && line.kind !== "not_deducted" ? t("appeal_closed") : "—");
}

function lineCard(line, sheet, reload) {
  const title = line.rule ? ruleName(line.rule, sheet.rule_names[line.rule]) : itemLabel(sheet, line.item_id);
  return h("li.card.my-line", { dataset: { ref: line.ref_id, kind: line.kind } },
    h("div.my-line-head", h("strong", title),
      h("span", { class: `pts pts-${line.kind}` }, line.kind === "not_deducted" ? t("line_not_deducted") : signed(line.points, line.kind))),
    h("div.small", `${fmtTime(line.at)}${line.duration_s != null ? ` · ${fmtDuration(line.duration_s)}` : ""}`,
      line.multiplier > 1 ? h("span.badge.doubled", ` ×${pts(line.multiplier)}`) : null),
    line.approval ? approvalNote(line.approval) : null,
    line.evidence.length ? h("div.thumbs", thumbs(line, sheet)) : null,
    line.source === "finding" ? appealCell(line, sheet, reload) : null);
}

export async function renderMine(main, note = "") {
  const me = await api("/api/v1/people/me");
  const tz = hallTz(me.hall_id);
  const { quarters, months } = periodOptions(tz);
  const saved = sessionStorage.getItem("hw.my.period");
  const period = h("select#my-period",
    h("optgroup", { label: t("asm_quarters") }, quarters.map((q) => h("option", { value: q, selected: q === (saved || currentQuarter(tz)) }, q))),
    h("optgroup", { label: t("asm_months") }, months.map((m) => h("option", { value: m, selected: m === saved }, m))));
  const body = h("div#my-body", h("p.muted", t("loading")));
  const flash = h("p.msg#my-msg", note);
  const reload = async (msg = "") => { flash.textContent = msg; await load(); };

  async function load() {
    sessionStorage.setItem("hw.my.period", period.value);
    let sheet;
    try { sheet = await api(`/api/v1/people/me/sheet/${encodeURIComponent(period.value)}`); }
    catch (ex) { mount(body, h("p.error", errorText(ex))); return; }
    const appeals = await api("/api/v1/people/me/appeals");
    const s = sheet.sheet;
    mount(body,
      h("div.my-score",
        h("div", h("div.big-score#my-score", pts(s.score)), h("div.muted", sheet.rank ? t("rank_of", { rank: sheet.rank, of: sheet.of }) : "")),
        h("div.small", `${t("base")} ${pts(s.base_points)}　${t("deductions")} ${signed(s.deduction_total, "deduction")}　${t("bonuses")} ${signed(s.bonus_total, "bonus")}`,
          h("div.muted", sheet.signoff ? t("asm_signed") : (sheet.provisional ? t("asm_provisional") : t("asm_live"))),
          h("div.muted", t("appeal_window", { days: sheet.appeal_window_days })))),
      h("h3", t("my_lines")),
      s.lines.length ? h("ul.cards.my-lines#my-lines", s.lines.map((ln) => lineCard(ln, sheet, reload))) : h("p.muted#my-no-lines", t("no_lines")),
      h("h3", t("my_appeals")),
      appeals.length ? h("ul.cards#my-appeals", appeals.map((a) => h("li.card", { dataset: { id: a.id, status: a.status } },
        h("div.my-line-head", h("strong", a.finding ? ruleName(a.finding.rule, sheet.rule_names[a.finding.rule]) : "—"), statusBadge("ap", a.status)),
        h("div.small", `${t("filed_at")} ${fmtTime(a.filed_at)}${a.finding ? ` · ${fmtTime(a.finding.started_at)}` : ""}`),
        h("div", h("span.muted", `${t("appeal_reason")}：`), a.reason),
        a.comment ? h("div", h("span.muted", `${t("decision_comment")}：`), a.comment,
          h("span.muted.small", ` — ${a.decided_by} ${fmtTime(a.decided_at)}`)) : null,
        a.amendment ? h("div.small.muted", t("amended_as", { seq: a.amendment.seq })) : null)))
        : h("p.muted#my-no-appeals", t("my_no_appeals")));
  }

  period.addEventListener("change", () => reload());
  mount(main,
    h("div.page-head", h("h2", `${t("nav_my")} · ${me.staff.name}`), h("label.inline", t("asm_period"), period)),
    h("p.muted", `${me.staff.department || ""}　${me.staff.id}`),
    flash, body);
  await load();
}
