// 值班表 / who is on duty now: today's duty officer, midday duty desk and leader; who sits at each window (A or B,
// inferred from the window state, the A/B roster and approved absences — the camera sees a person, not who);
// the roster of the coming days with add / cancel / CSV import (supervisors).
import { api, h, mount, onEvent } from "./api.js";
import { fmtTime, t } from "./i18n.js";
import { ctx } from "./state.js";
import { fmtNum, hallPicker } from "./ops_util.js";

const KINDS = ["duty_officer", "midday_desk", "leader"];
let unsubscribe = null;

function person(s) {
  return h("span.duty-person", { dataset: { shift: s.id } }, h("strong", s.name), s.phone ? h("span.muted", ` · ${s.phone}`) : null,
    s.window_name ? h("span.muted", ` · ${t("roster_window_n", { w: s.window_name })}`) : null);
}

function nowCard(d) {
  const line = (kind, list) => h("div.duty-line", { dataset: { kind } }, h("span.duty-kind", t("roster_kind_" + kind)),
    list.length ? list.map(person) : h("span.muted", t("roster_nobody")));
  return h("section.duty-now#duty-now",
    h("h3", t("roster_now"), h("span.muted.small", ` · ${d.day}${d.phase ? " · " + t("phase_" + d.phase) : ""}`)),
    line("duty_officer", d.duty_officer), line("midday_desk", d.midday_desk), line("leader", d.leader),
    d.midday_windows.length ? h("p.small.muted", t("roster_midday_windows", { w: d.midday_windows.map((w) => `${w.number} ${w.name}`).join("、") })) : null);
}

function seatsTable(d) {
  return h("section",
    h("h3", t("roster_seats")),
    h("p.small.muted#seat-note", t("roster_seat_note")),
    h("div.table-wrap", h("table.grid#seat-table",
      h("thead", h("tr", [t("window"), t("roster_state"), t("post_a"), t("post_b"), t("roster_seated"), t("roster_basis")].map((x) => h("th", x)))),
      h("tbody", d.windows.map((w) => h("tr", { dataset: { window: w.id, post: w.post || "" } },
        h("td", `${w.number} ${w.name}`),
        h("td", { class: `st-${w.state}` }, t(w.state || "unknown"), w.state === "empty" && w.since ? h("span.muted.small", ` · ${fmtTime(w.since)}`) : null),
        h("td", { dataset: { label: t("post_a") } }, w.staff_a || "—", w.a_away ? h("span.badge.away", t("roster_away")) : null),
        h("td", { dataset: { label: t("post_b") } }, w.staff_b || "—", w.b_away ? h("span.badge.away", t("roster_away")) : null),
        h("td.seated", { dataset: { label: t("roster_seated") } }, w.seated ? [h("strong", w.seated), h("span.badge", t("roster_post_" + w.post))] : "—"),
        h("td.small.muted", t("roster_basis_" + w.basis))))))));
}

function rosterTable(hallId, list, reload) {
  const byDay = new Map();
  for (const s of list) {
    if (!byDay.has(s.day)) byDay.set(s.day, { duty_officer: [], midday_desk: [], leader: [] });
    byDay.get(s.day)[s.kind].push(s);
  }
  const canEdit = ctx.can("decide");
  const cell = (items) => h("td", items.length ? items.map((s) => h("div.roster-entry", person(s),
    canEdit ? h("button.link.small", { type: "button", title: t("roster_cancel"), dataset: { cancel: s.id }, onclick: async () => {
      if (!confirm(t("roster_cancel_confirm", { name: s.name }))) return;
      await api(`/api/v1/console/duty-roster/${s.id}`, { method: "DELETE" });
      reload();
    } }, t("roster_cancel")) : null)) : h("span.muted", "—"));
  return h("div.table-wrap", h("table.grid#roster-table",
    h("thead", h("tr", h("th", t("roster_day")), KINDS.map((k) => h("th", t("roster_kind_" + k))))),
    h("tbody", byDay.size ? [...byDay.entries()].map(([day, k]) => h("tr", { dataset: { day } },
      h("td", new Date(`${day}T00:00:00`).toLocaleDateString(undefined, { month: "numeric", day: "numeric", weekday: "short" })),
      KINDS.map((kind) => cell(k[kind])))) : h("tr", h("td", { colspan: 4 }, h("span.muted", t("roster_empty")))))));
}

function addForm(hallId, windows, reload) {
  const msg = h("p.msg#roster-msg", "");
  const f = {
    day: h("input#roster-day", { type: "date", required: true }),
    kind: h("select#roster-kind", KINDS.map((k) => h("option", { value: k }, t("roster_kind_" + k)))),
    name: h("input#roster-name", { maxlength: 100, required: true, placeholder: t("roster_name_hint") }),
    phone: h("input#roster-phone", { maxlength: 32, placeholder: t("roster_phone") }),
    window: h("select#roster-window", h("option", { value: "" }, "—"), windows.map((w) => h("option", { value: w.id }, `${w.number} ${w.name}`))),
    note: h("input#roster-note", { maxlength: 500, placeholder: t("roster_note") }),
  };
  const form = h("form.roster-form#roster-form", { onsubmit: async (e) => {
    e.preventDefault();
    msg.textContent = ""; msg.className = "msg";
    try {
      await api(`/api/v1/console/halls/${encodeURIComponent(hallId)}/duty-roster`, { method: "POST", body: {
        day: f.day.value, kind: f.kind.value, name: f.name.value.trim(), phone: f.phone.value.trim() || null,
        window_id: f.kind.value === "midday_desk" ? (f.window.value || null) : null, note: f.note.value } });
      f.name.value = ""; f.phone.value = ""; f.note.value = "";
      msg.textContent = t("roster_saved");
      reload();
    } catch (ex) { msg.className = "error"; msg.textContent = t("roster_not_saved"); }
  } },
  h("h4", t("roster_add")),
  h("div.btns", f.day, f.kind, f.name, f.phone, h("label.small", t("roster_midday_window"), " ", f.window), f.note,
    h("button.primary#roster-add", { type: "submit" }, t("roster_add_btn"))), msg);
  return form;
}

function importForm(hallId, reload) {
  const file = h("input#roster-file", { type: "file", accept: ".csv,text/csv" });
  const dry = h("input#roster-dry", { type: "checkbox", checked: true });
  const out = h("div#roster-import-result");
  return h("div.roster-import",
    h("h4", t("roster_import")), h("p.small.muted", t("roster_import_hint")),
    h("div.btns", file, h("label", dry, ` ${t("roster_dry")}`),
      h("button#roster-import-btn", { type: "button", onclick: async () => {
        if (!file.files[0]) return;
        try {
          const r = await api(`/api/v1/console/halls/${encodeURIComponent(hallId)}/duty-roster/import?dry_run=${dry.checked}`,
            { method: "POST", form: file.files[0] });
          mount(out, h("p", { class: r.errors.length ? "error" : "msg" }, t(r.dry_run ? "roster_import_dry" : "roster_import_done", {
            rows: fmtNum(r.rows), created: fmtNum(r.created), unchanged: fmtNum(r.unchanged), errors: fmtNum(r.errors.length) })),
            r.errors.length ? h("ul.small", r.errors.slice(0, 20).map((e) => h("li", t("roster_import_err", { line: e.line, what: t("roster_err_" + e.error), value: e.value ?? "" })))) : null);
          if (!r.dry_run) reload();
        } catch (ex) { mount(out, h("p.error", t("roster_import_failed"))); }
      } }, t("roster_import_btn"))), out);
}

async function load(body, hallId, seq) {
  const [d, list] = await Promise.all([
    api(`/api/v1/console/halls/${encodeURIComponent(hallId)}/on-duty`),
    api(`/api/v1/console/halls/${encodeURIComponent(hallId)}/duty-roster`)]);
  if (seq.n !== seq.want) return;
  const reload = () => { seq.want = ++seq.n; load(body, hallId, seq); };
  const typed = body.dataset.hall === hallId ? typedEntry(body) : [];
  mount(body, h("div.duty-top", nowCard(d)), seatsTable(d),
    h("section", h("h3", t("roster_title")), rosterTable(hallId, list, reload),
      ctx.can("decide") ? [addForm(hallId, d.windows, reload), importForm(hallId, reload)] : null));
  body.dataset.hall = hallId;
  for (const [id, value] of typed) {  // a refresh (a window changed, an entry saved) keeps what is being typed
    const el = body.querySelector(`#${id}`);
    if (el) el.value = value;
  }
}

function typedEntry(body) {
  return [...body.querySelectorAll("#roster-form input, #roster-form select")].filter((el) => el.id).map((el) => [el.id, el.value]);
}

export async function renderRoster(main) {
  if (!ctx.halls.length) { mount(main, h("p.muted", t("none"))); return; }
  const body = h("div#roster-body", t("loading"));
  const seq = { n: 0, want: 0 };
  const go = (id) => { seq.want = ++seq.n; return load(body, id, seq); };
  // another hall: the previous hall's forms go at once, so no entry is added to it meanwhile
  const pick = hallPicker("roster-hall", (id) => { mount(body, t("loading")); return go(id); });
  mount(main, h("div.page-head", h("h2", t("nav_roster")), pick), body);
  await go(pick.value);
  if (unsubscribe) unsubscribe();
  let pending = null;
  unsubscribe = onEvent(({ type, data }) => {
    if (!document.body.contains(body) || document.activeElement?.closest("#roster-form, .roster-import")) return;
    if (type === "window" && data.hall_id === pick.value) {
      clearTimeout(pending);
      pending = setTimeout(() => go(pick.value), 300);
    }
  });
}
