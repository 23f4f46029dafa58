// Sheet actions by role: export (everyone, in the UI language); sign off, amend, manual entry (supervisor);
// verify integrity of a signed quarter (everyone). The API enforces the roles; the UI hides what a role cannot do.
import { api, h, mount } from "./api.js";
import { getLang, t } from "./i18n.js";
import { ctx } from "./state.js";
import { openDialog } from "./dialog.js";
import { isQuarter, itemName, pts, shortSha, subjectName, zonedToIso } from "./assessment_util.js";

function sheetUrl(st) {
  return `/api/v1/assessment/halls/${encodeURIComponent(st.hall)}/sheets/${encodeURIComponent(st.period)}`;
}

function exportLinks(st) {
  return ["xlsx", "pdf", "csv"].map((fmt) => h("a.button", { id: `asm-export-${fmt}`,
    href: `${sheetUrl(st)}/export.${fmt}?lang=${getLang()}`, download: `assessment-${st.hall}-${st.period}-${getLang()}.${fmt}` },
  t(`export_${fmt}`)));
}

function signOff(env) {
  const { st } = env;
  openDialog({
    id: "dlg-signoff", title: t("sign_quarter"), okLabel: t("sign_quarter"),
    body: [h("p#dlg-signoff-text", t("sign_confirm", { hall: env.hallName, period: st.period }))],
    onOk: async () => {
      await api(`${sheetUrl(st)}/sign-off`, { method: "POST" });
      env.flash(t("saved"));
      await env.reload(true);
    },
  });
}

function amend(env) {
  const reason = h("textarea#amend-reason", { rows: 3, required: true, minlength: 2 });
  openDialog({
    id: "dlg-amend", title: t("amend"), body: [h("label", t("amend_reason"), reason)],
    onOk: async () => {
      if (reason.value.trim().length < 2) throw new Error(t("reason_needed"));
      const r = await api(`${sheetUrl(env.st)}/amend`, { method: "POST", body: { reason: reason.value.trim() } });
      const changes = r.changes.map((c) => `${c.subject_id} ${pts(c.score_before ?? 100)} → ${pts(c.score_after ?? 100)}`).join("; ");
      env.flash(`${t("amend_done", { seq: r.seq })}: ${changes}`);
      await env.reload(true);
    },
  });
}

function localNow(tz) {
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-CA", { timeZone: tz, hourCycle: "h23", year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }).formatToParts(new Date()).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

function addEntry(env) {
  const { st, sheet, scheme } = env;
  const tz = sheet.hall.timezone;
  const manual = scheme.deductions.filter((d) => !(d.rules || []).length);
  const ruled = scheme.deductions.filter((d) => (d.rules || []).length);
  const opt = (x, sign) => h("option", { value: x.id }, `${itemName(scheme, x.id)} (${sign}${pts(x.points ?? 0)})`);
  const item = h("select#entry-item",
    h("optgroup", { label: t("deductions") }, manual.map((x) => opt(x, "−")), ruled.filter((x) => x.points != null).map((x) => opt(x, "−"))),
    h("optgroup", { label: t("bonuses") }, scheme.bonuses.map((x) => opt(x, "+"))));
  const cur = st.subject;
  const win = h("select#entry-window", h("option", { value: "" }, "—"),
    sheet.windows.map((w) => h("option", { value: w.id, selected: st.tab === "windows" && cur === w.id }, subjectName(w, "windows"))));
  const staff = h("select#entry-staff", h("option", { value: "" }, "—"),
    sheet.staff.map((s) => h("option", { value: s.id, selected: st.tab === "staff" && cur === s.id }, `${s.name} (${s.id})`)));
  const at = h("input#entry-at", { type: "datetime-local", required: true, value: localNow(tz) });
  const count = h("input#entry-count", { type: "number", min: 1, max: 100, value: "1" });
  const note = h("textarea#entry-note", { rows: 2 });
  openDialog({
    id: "dlg-entry", title: t("add_entry"),
    body: [h("div.dialog-grid", h("label", t("entry_item"), item), h("label", t("window"), win),
      h("label", t("person"), staff), h("label", `${t("entry_at")} (${tz})`, at), h("label", t("entry_count"), count),
      h("label", t("entry_note"), note))],
    onOk: async () => {
      if (!win.value && !staff.value) throw new Error(t("entry_subject_needed"));
      await api(`/api/v1/assessment/halls/${encodeURIComponent(st.hall)}/entries`, { method: "POST", body: {
        item_id: item.value, at: zonedToIso(at.value, tz), window_id: win.value || null, staff_id: staff.value || null,
        count: Number(count.value) || 1, note: note.value } });
      env.flash(sheet.signoff ? `${t("entry_done")} — ${t("reassign_signed_hint")}` : t("entry_done"));
      await env.reload(true);
    },
  });
}

function problemText(p) {
  const what = p.what.startsWith("evidence ") ? `${t("evidence")} ${shortSha(p.what.slice(9))}` : p.what;
  const tail = p.expected ? ` (${t("expected")} ${shortSha(p.expected)}, ${t("actual")} ${shortSha(p.actual)})` : "";
  return `${what}: ${t("problem_" + p.problem)}${tail}`;
}

async function verify(env, out) {
  mount(out, t("loading"));
  try {
    const r = await api(`${sheetUrl(env.st)}/verify`);
    out.className = `verify-result ${r.ok ? "ok" : "bad"}`;
    out.dataset.ok = String(r.ok);
    mount(out, r.ok ? `✓ ${t("verify_ok", { sha: shortSha(r.sheet_sha256), n: r.evidence_checked })}`
      : [h("strong", `✗ ${t("verify_fail")}`), h("ul#verify-problems", r.problems.map((p) =>
        h("li", { dataset: { problem: p.problem }, title: JSON.stringify(p) }, problemText(p))))]);
  } catch (ex) {
    out.className = "verify-result bad";
    out.dataset.ok = "error";
    mount(out, `${t("error")}: ${ex.detail || ex.message}`);
  }
}

export function actionBar(env) {
  const { st, sheet } = env;
  const quarter = isQuarter(st.period);
  const boss = ctx.can("assess");
  const out = h("div.verify-result#asm-verify-result");
  const btns = [...exportLinks(st)];
  if (boss && quarter && !sheet.signoff) btns.push(h("button.primary#asm-signoff", { onclick: () => signOff(env) }, t("sign_quarter")));
  if (boss && sheet.signoff) btns.push(h("button#asm-amend", { onclick: () => amend(env) }, t("amend")));
  if (boss) btns.push(h("button#asm-entry", { onclick: () => addEntry(env) }, t("add_entry")));
  if (quarter && sheet.signoff) btns.push(h("button#asm-verify", { onclick: () => verify(env, out) }, t("verify")));
  else if (quarter) btns.push(h("span.muted.small", t("verify_unsigned")));
  return h("div.asm-actions.noprint", h("div.btns", btns), out);
}
