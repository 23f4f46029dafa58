// 申诉复核 (the assessment office): clerks' appeals with the finding's evidence; uphold or withdraw with a comment.
// A withdrawal on a signed quarter is recorded as an amendment of that quarter.
import { api, evidenceUrl, h, mount } from "./api.js";
import { fmtTime, ruleName, t } from "./i18n.js";
import { hallPicker } from "./duty.js";
import { openDialog } from "./dialog.js";
import { fmtDuration } from "./assessment_util.js";
import { errorText, statusBadge } from "./people_util.js";

const STATUSES = ["pending", "upheld", "withdrawn", ""];

function decide(a, verdict, done) {
  const comment = h("textarea#decision-comment", { rows: 4, required: true, maxlength: 4000 });
  openDialog({
    id: "dlg-decide",
    title: `${t(verdict === "withdraw" ? "appeal_withdraw" : "appeal_uphold")} · #${a.id} ${a.staff ? a.staff.name : ""}`,
    okLabel: t(verdict === "withdraw" ? "appeal_withdraw" : "appeal_uphold"),
    okClass: verdict === "withdraw" ? "warn" : "primary",
    body: [h("p.small.muted", t(verdict === "withdraw" ? "withdraw_explain" : "uphold_explain")),
      h("label", t("decision_comment"), comment)],
    onOk: async () => {
      if (comment.value.trim().length < 2) throw new Error(t("comment_needed"));
      const r = await api(`/api/v1/people/appeals/${a.id}/decide`, { method: "POST", body: { decision: verdict, comment: comment.value.trim() } });
      await done(r.amendment ? `${t("saved")} · ${t("amended_as", { seq: r.amendment.seq })}` : t("saved"));
    },
  });
}

function card(a, rules, done) {
  const f = a.finding || {};
  const pics = (f.evidence || []).filter((e) => e.kind !== "clip").slice(0, 3);
  const clip = (f.evidence || []).find((e) => e.kind === "clip");
  return h("li.card.appeal-card", { dataset: { id: a.id, status: a.status } },
    h("div.my-line-head", h("strong", `#${a.id} ${a.staff ? a.staff.name : "—"}`), statusBadge("ap", a.status)),
    h("div", ruleName(f.rule, rules[f.rule]), f.window ? ` · ${f.window.number} ${f.window.name}` : "",
      h("span.muted.small", ` · ${fmtTime(f.started_at)}${f.duration_s != null ? ` · ${fmtDuration(f.duration_s)}` : ""}`)),
    h("div", h("span.muted", `${t("appeal_reason")}：`), a.reason, h("span.muted.small", ` — ${fmtTime(a.filed_at)}`)),
    pics.length || clip ? h("div.thumbs", pics.map((e) => h("a", { href: evidenceUrl(e.sha256), target: "_blank", rel: "noopener" },
      h("img.thumb", { src: evidenceUrl(e.sha256), alt: t("evidence") }))),
      clip ? h("a.clip-link", { href: evidenceUrl(clip.sha256), target: "_blank", rel: "noopener" }, `▶ ${t("clip_link")}`) : null) : null,
    f.alert_id ? h("a.small", { href: `#/alert/${f.alert_id}` }, `${t("alert")} #${f.alert_id}`) : null,
    a.status === "pending"
      ? h("div.btns", h("button.primary.uphold", { onclick: () => decide(a, "uphold", done) }, t("appeal_uphold")),
        h("button.warn.withdraw", { onclick: () => decide(a, "withdraw", done) }, t("appeal_withdraw")))
      : h("div", h("span.muted", `${t("decision_comment")}：`), a.comment || "—",
        h("span.muted.small", ` — ${a.decided_by || ""} ${fmtTime(a.decided_at)}`),
        a.amendment ? h("div.small.muted", t("amended_as", { seq: a.amendment.seq })) : null));
}

export async function renderAppeals(main) {
  const pick = hallPicker("appeals-hall");
  const status = h("select#appeals-status", STATUSES.map((s) => h("option", { value: s }, s ? t(`ap_${s}`) : t("all"))));
  const list = h("ul.cards.appeal-list#appeal-list");
  const msg = h("p.msg#appeals-msg", "");
  const rules = await api("/api/v1/console/rules");
  async function load(note = "") {
    msg.textContent = note;
    const q = status.value ? `?status=${status.value}` : "";
    const rows = await api(`/api/v1/people/halls/${encodeURIComponent(pick.value)}/appeals${q}`);
    list.replaceChildren(...(rows.length ? rows.map((a) => card(a, rules, load)) : [h("li.muted#appeals-none", t("appeals_none"))]));
  }
  pick.addEventListener("change", () => load());
  status.addEventListener("change", () => load());
  mount(main, h("div.page-head", h("h2", t("nav_appeals")), h("div.btns", pick, status)),
    h("p.muted.small", t("appeals_explain")), msg, list);
  try { await load(); } catch (ex) { mount(list, h("li.error", errorText(ex))); }
}
