// 请假与暂停服务: approved absences (请假/公出/培训/顶岗) entered one by one or imported from the attendance system,
// and window pauses (暂停服务) that the hall's edges receive. Viewers see both lists; supervisors enter and cancel.
import { api, h, mount } from "./api.js";
import { t } from "./i18n.js";
import { ctx } from "./state.js";
import { hallPicker } from "./duty.js";
import { addDays, errorText, fmtRange, hallTz, kindName, statusBadge, toIso, todayIn } from "./people_util.js";

const KINDS = ["leave", "official", "training", "cover"];

function field(label, input, cls = "") { return h(`label${cls}`, h("span", label), input); }

function absenceForm(hallId, staff, windows, reload) {
  const tz = hallTz(hallId);
  const today = todayIn(tz);
  const who = h("select#absence-staff", { required: true }, staff.map((s) => h("option", { value: s.code }, `${s.name}（${s.code}）`)));
  const kind = h("select#absence-kind", KINDS.map((k) => h("option", { value: k }, kindName(k))));
  const start = h("input#absence-start", { type: "datetime-local", required: true, value: `${today}T08:30` });
  const end = h("input#absence-end", { type: "datetime-local", required: true, value: `${today}T17:30` });
  const approver = h("input#absence-approver", { required: true, maxlength: 100, placeholder: t("approver_hint") });
  const win = h("select#absence-window", h("option", { value: "" }, "—"), windows.map((w) => h("option", { value: w.id }, `${w.number} ${w.name}`)));
  const covers = h("select#absence-covers", h("option", { value: "" }, "—"), staff.map((s) => h("option", { value: s.code }, s.name)));
  const reason = h("input#absence-reason", { maxlength: 2000 });
  const coverOnly = [field(t("window_covered"), win, ".cover-only"), field(t("covers_whom"), covers, ".cover-only")];
  const sync = () => coverOnly.forEach((el) => { el.hidden = kind.value !== "cover"; });
  kind.addEventListener("change", sync);
  sync();
  const msg = h("p.msg#absence-msg", "");
  const form = h("form.people-form#absence-form", { novalidate: true },
    field(t("person"), who), field(t("absence_kind"), kind), field(t("start"), start), field(t("end"), end),
    field(t("approver"), approver), coverOnly, field(t("reason"), reason, ".wide"),
    h("div.btns.wide", h("button.primary#absence-submit", { type: "submit" }, t("absence_save")), msg));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.className = "msg";
    if (!approver.value.trim()) { msg.className = "error"; msg.textContent = t("approver_needed"); return; }
    const body = { staff_id: who.value, kind: kind.value, start: toIso(start.value, tz), end: toIso(end.value, tz),
      approver: approver.value.trim(), reason: reason.value.trim() };
    if (kind.value === "cover") { body.window_id = win.value || null; body.covers_staff_id = covers.value || null; }
    try {
      const r = await api(`/api/v1/people/halls/${encodeURIComponent(hallId)}/absences`, { method: "POST", body });
      msg.textContent = `${t("saved")} #${r.id}`;
      approver.value = ""; reason.value = "";
      await reload();
    } catch (ex) { msg.className = "error"; msg.textContent = errorText(ex); }
  });
  return form;
}

function importForm(hallId, reload) {
  const file = h("input#import-file", { type: "file", accept: ".csv,.xlsx,text/csv", required: true });
  const dry = h("input#import-dry", { type: "checkbox" });
  const out = h("div#import-result");
  const form = h("form.people-form#import-form",
    field(t("import_file"), file, ".wide"),
    h("label.check", dry, h("span", t("import_dry"))),
    h("div.btns", h("button#import-submit", { type: "submit" }, t("import_run"))),
    h("p.muted.small.wide", t("import_layout_hint")),
    out);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!file.files.length) return;
    const fd = new FormData();
    fd.set("file", file.files[0]);
    try {
      const r = await api(`/api/v1/people/halls/${encodeURIComponent(hallId)}/absences/import?dry_run=${dry.checked}`, { method: "POST", form: fd });
      mount(out,
        h("p", { class: r.errors.length ? "error" : "msg", id: "import-summary" },
          t(r.dry_run ? "import_summary_dry" : "import_summary", { rows: r.rows, created: r.created, updated: r.updated,
            unchanged: r.unchanged, cancelled: r.cancelled, errors: r.errors.length })),
        r.errors.length ? h("table.grid.compact#import-errors", h("thead", h("tr", h("th", t("row")), h("th", t("error")))),
          h("tbody", r.errors.map((x) => h("tr", h("td", String(x.row)), h("td", x.error))))) : null);
      if (!r.dry_run) await reload();
    } catch (ex) { mount(out, h("p.error#import-summary", errorText(ex))); }
  });
  return form;
}

function pauseForm(hallId, windows, reload) {
  const tz = hallTz(hallId);
  const today = todayIn(tz);
  const win = h("select#pause-window", windows.map((w) => h("option", { value: w.id }, `${w.number} ${w.name}`)));
  const start = h("input#pause-start", { type: "datetime-local", required: true, value: `${today}T08:30` });
  const end = h("input#pause-end", { type: "datetime-local", required: true, value: `${today}T12:00` });
  const reason = h("input#pause-reason", { required: true, maxlength: 500, placeholder: t("pause_reason_hint") });
  const msg = h("p.msg#pause-msg", "");
  const form = h("form.people-form#pause-form", { novalidate: true },
    field(t("window"), win), field(t("start"), start), field(t("end"), end), field(t("reason"), reason, ".wide"),
    h("div.btns.wide", h("button.primary#pause-submit", { type: "submit" }, t("pause_save")), msg));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.className = "msg";
    if (!reason.value.trim()) { msg.className = "error"; msg.textContent = t("reason_needed"); return; }
    try {
      const r = await api(`/api/v1/people/halls/${encodeURIComponent(hallId)}/pauses`, { method: "POST",
        body: { window_id: win.value, start: toIso(start.value, tz), end: toIso(end.value, tz), reason: reason.value.trim() } });
      msg.textContent = `${t("saved")} #${r.id} · ${t("pause_sent")}`;
      reason.value = "";
      await reload();
    } catch (ex) { msg.className = "error"; msg.textContent = errorText(ex); }
  });
  return form;
}

function pauseState(p) {
  if (p.status === "cancelled") return "cancelled";
  if (p.active) return "active";
  return new Date(p.end) <= new Date() ? "ended" : "planned";
}

export async function renderLeave(main) {
  const pick = hallPicker("leave-hall");
  const canEdit = ctx.can("decide");
  const since = h("input#leave-since", { type: "date" });
  const until = h("input#leave-until", { type: "date" });
  const withCancelled = h("input#leave-cancelled", { type: "checkbox" });
  const absences = h("tbody#absence-list");
  const pauses = h("tbody#pause-list");
  const forms = h("div#leave-forms");
  let staff = [];
  let windows = [];

  const cancel = (kind, id) => async () => {
    if (!confirm(t(kind === "absence" ? "absence_cancel_confirm" : "pause_cancel_confirm"))) return;
    try { await api(`/api/v1/people/${kind === "absence" ? "absences" : "pauses"}/${id}/cancel`, { method: "POST" }); await load(); }
    catch (ex) { alert(errorText(ex)); }
  };

  async function load() {
    const hall = encodeURIComponent(pick.value);
    const q = new URLSearchParams({ since: since.value, until: until.value, include_cancelled: withCancelled.checked });
    const [as, ps] = await Promise.all([api(`/api/v1/people/halls/${hall}/absences?${q}`), api(`/api/v1/people/halls/${hall}/pauses?${q}`)]);
    absences.replaceChildren(...(as.length ? as.map((a) => h("tr", { dataset: { id: a.id, kind: a.kind, status: a.status }, class: `st-${a.status}` },
      h("td", h("strong", a.staff ? a.staff.name : "—"), a.kind === "cover" && a.window ? h("div.small.muted", `${t("window_covered")}: ${a.window.number} ${a.window.name}${a.covers ? ` · ${t("covers_whom")}: ${a.covers.name}` : ""}`) : null),
      h("td", h("span.badge.kind", kindName(a.kind))),
      h("td.nowrap", fmtRange(a.start, a.end)),
      h("td", a.approver, a.reason ? h("div.small.muted", a.reason) : null),
      h("td.small", t(`source_${a.source}`), a.external_id ? h("div.muted.mono", a.external_id) : null),
      h("td", statusBadge("ab", a.status)),
      h("td.noprint", canEdit && a.status === "approved" ? h("button.small.warn", { onclick: cancel("absence", a.id) }, t("absence_cancel")) : null)))
      : [h("tr", h("td.muted", { colspan: 7 }, t("absence_none")))]));
    pauses.replaceChildren(...(ps.length ? ps.map((p) => {
      const state = pauseState(p);
      return h("tr", { dataset: { id: p.id, state }, class: `pause-${state}` },
        h("td", h("strong", p.window ? `${p.window.number} ${p.window.name}` : "—")),
        h("td.nowrap", fmtRange(p.start, p.end)), h("td", p.reason), h("td", p.created_by),
        h("td", statusBadge("pause", state)),
        h("td.noprint", canEdit && (state === "active" || state === "planned") ? h("button.small.warn", { onclick: cancel("pause", p.id) }, t("pause_cancel")) : null));
    }) : [h("tr", h("td.muted", { colspan: 6 }, t("pause_none")))]));
  }

  async function setup() {
    const tz = hallTz(pick.value);
    const today = todayIn(tz);
    since.value = addDays(today, -7);
    until.value = addDays(today, 30);
    const hall = ctx.halls.find((x) => x.id === pick.value);
    windows = hall ? hall.windows : [];
    staff = canEdit ? (await api(`/api/v1/halls/${encodeURIComponent(pick.value)}/staff`)).filter((s) => s.active !== false) : [];
    mount(forms, canEdit ? h("div.people-cols",
      h("section.people-card", h("h3", t("absence_new")), absenceForm(pick.value, staff, windows, load),
        h("h4", t("import_title")), importForm(pick.value, load)),
      h("section.people-card", h("h3", t("pause_new")), h("p.muted.small", t("pause_explain")), pauseForm(pick.value, windows, load))) : null);
    await load();
  }

  for (const el of [since, until, withCancelled]) el.addEventListener("change", load);
  pick.addEventListener("change", setup);
  mount(main,
    h("div.page-head", h("h2", t("nav_leave")), pick),
    forms,
    h("div.filters#leave-filters", h("label", t("since"), since), h("label", t("until"), until),
      h("label.check", withCancelled, h("span", t("show_cancelled")))),
    h("h3", t("absence_list")),
    h("div.scroll", h("table.grid#absence-table", h("thead", h("tr", [t("person"), t("absence_kind"), t("time"), t("approver"), t("source"), t("status"), ""].map((x) => h("th", x)))), absences)),
    h("h3", t("pause_list")),
    h("div.scroll", h("table.grid#pause-table", h("thead", h("tr", [t("window"), t("time"), t("reason"), t("entered_by"), t("status"), ""].map((x) => h("th", x)))), pauses)));
  await setup();
}
