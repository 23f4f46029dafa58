// 用户管理 (admins): create logins, change role and hall binding, disable / enable, reset the password (a random
// one shown once); every change is audited and the trail is listed below. Uses the core's /api/v1/users.
import { api, ApiError, h, mount } from "./api.js";
import { fmtTime, t } from "./i18n.js";
import { ctx, hallName } from "./state.js";
import { fmtNum } from "./ops_util.js";

const ROLES = ["admin", "supervisor", "inspector", "viewer"];
const MAX_ROWS = 50;

export function randomPassword(n = 12) {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join("");
}

function why(ex) {
  if (ex instanceof ApiError) {
    if (ex.status === 403) return t("users_err_forbidden");
    if (/already exists/.test(ex.detail)) return t("users_err_exists");
    if (/password/.test(ex.detail)) return t("users_err_password");
    if (/hall/.test(ex.detail)) return t("users_err_hall");
  }
  return t("users_err_generic");
}

function hallOptions(selected) {
  return [h("option", { value: "", selected: !selected }, t("users_all_halls")),
    ...ctx.halls.map((x) => h("option", { value: x.id, selected: x.id === selected }, x.name))];
}

function change(k, v) {
  if (k === "role") return t("role_" + v);
  if (k === "active") return v ? t("users_enabled") : t("users_disabled");
  if (k === "hall_id") return v ? hallName(v) : t("users_all_halls");
  return v ?? "—";
}

function diffText(e) {
  const b = e.before || {};
  const a = e.after || {};
  const parts = [];
  for (const k of ["role", "active", "hall_id", "display_name"]) {
    if (!(k in a)) continue;
    const label = `${t("users_f_" + k)}${t("users_kv")}`;
    if (e.action === "user.create") { if (a[k] !== null && a[k] !== undefined) parts.push(`${label}${change(k, a[k])}`); continue; }
    if (JSON.stringify(b[k]) !== JSON.stringify(a[k])) parts.push(`${label}${change(k, b[k])} → ${change(k, a[k])}`);
  }
  if (a.password_changed) parts.push(t("users_password_reset"));
  return parts.join(t("users_list_sep")) || "—";
}

function row(u, reload, msg) {
  const self = u.id === ctx.me.id;
  const role = h("select.user-role", { disabled: u.role === "staff" || self, "aria-label": t("users_role") },
    (u.role === "staff" ? ["staff"] : ROLES).map((r) => h("option", { value: r, selected: r === u.role }, t("role_" + r))));
  const hall = h("select.user-hall", { disabled: self, "aria-label": t("users_hall") }, hallOptions(u.hall_id));
  const patch = async (body, done) => {
    msg.className = "msg"; msg.textContent = "";
    try { await api(`/api/v1/users/${u.id}`, { method: "PATCH", body }); msg.textContent = done; await reload(); }
    catch (ex) { msg.className = "error"; msg.textContent = why(ex); }
  };
  return h("tr", { dataset: { user: u.username, active: String(u.active) }, class: u.active ? "" : "inactive" },
    h("td", h("strong", u.username)), h("td", u.display_name || "—"), h("td", role), h("td", hall),
    h("td", u.active ? h("span.st-ok", t("users_enabled")) : h("span.st-bad", t("users_disabled"))),
    h("td", h("div.btns.user-actions",
      h("button.small.save", { type: "button", disabled: self, onclick: () => {
        const body = { hall_id: hall.value || null };
        if (u.role !== "staff") body.role = role.value;
        patch(body, t("users_saved", { who: u.username }));
      } }, t("users_save")),
      h("button.small.toggle", { type: "button", class: u.active ? "small toggle warn" : "small toggle", disabled: self, onclick: () => {
        if (u.active && !confirm(t("users_disable_confirm", { who: u.username }))) return;
        patch({ active: !u.active }, u.active ? t("users_done_disabled", { who: u.username }) : t("users_done_enabled", { who: u.username }));
      } }, u.active ? t("users_disable") : t("users_enable")),
      h("button.small.reset", { type: "button", disabled: self, onclick: async () => {
        if (!confirm(t("users_reset_confirm", { who: u.username }))) return;
        const pw = randomPassword();
        await patch({ password: pw }, t("users_reset_done", { who: u.username, pw }));
      } }, t("users_reset")))));
}

function createForm(reload, msg) {
  const f = {
    username: h("input#new-username", { maxlength: 64, required: true, autocomplete: "off", placeholder: t("username") }),
    display: h("input#new-display", { maxlength: 100, placeholder: t("users_display_name") }),
    role: h("select#new-role", ROLES.map((r) => h("option", { value: r, selected: r === "inspector" }, t("role_" + r)))),
    hall: h("select#new-hall", hallOptions(ctx.me.hall_id)),
    password: h("input#new-password", { maxlength: 200, minlength: 8, required: true, autocomplete: "new-password", value: randomPassword() }),
  };
  return h("form.users-form#user-form", { onsubmit: async (e) => {
    e.preventDefault();
    msg.className = "msg"; msg.textContent = "";
    try {
      await api("/api/v1/users", { method: "POST", body: { username: f.username.value.trim(), password: f.password.value,
        role: f.role.value, display_name: f.display.value.trim() || null, hall_id: f.hall.value || null } });
      msg.textContent = t("users_created", { who: f.username.value.trim(), pw: f.password.value });
      f.username.value = ""; f.display.value = ""; f.password.value = randomPassword();
      await reload();
    } catch (ex) { msg.className = "error"; msg.textContent = why(ex); }
  } },
  h("h4", t("users_new")),
  h("div.btns", f.username, f.display, f.role, f.hall,
    h("label.small", t("users_initial_pw"), " ", f.password),
    h("button.primary#user-create", { type: "submit" }, t("users_create"))),
  h("p.small.muted", t("users_pw_hint")));
}

export async function renderUsers(main) {
  const msg = h("p.msg#users-msg", { role: "status" }, "");
  const list = h("div#users-list", t("loading"));
  const trail = h("div#users-audit");
  const search = h("input#users-search", { type: "search", placeholder: t("users_search"), maxlength: 64 });
  const hallFilter = h("select#users-hall-filter", h("option", { value: "*" }, t("users_any_hall")), hallOptions(null));
  hallFilter.value = "*";
  let users = [];
  const draw = () => {
    const needle = search.value.trim().toLowerCase();
    const shown = users.filter((u) => (hallFilter.value === "*" || (u.hall_id || "") === hallFilter.value) &&
      (!needle || `${u.username} ${u.display_name || ""}`.toLowerCase().includes(needle)));
    mount(list, h("div.table-wrap", h("table.grid#users-table",
      h("thead", h("tr", [t("username"), t("users_display_name"), t("users_role"), t("users_hall"), t("users_status"), ""].map((x) => h("th", x)))),
      h("tbody", shown.slice(0, MAX_ROWS).map((u) => row(u, reload, msg))))),
      h("p.small.muted", t("users_count", { n: fmtNum(users.length), active: fmtNum(users.filter((u) => u.active).length) }),
        shown.length > MAX_ROWS ? ` ${t("users_more", { n: fmtNum(MAX_ROWS), m: fmtNum(shown.length) })}` : ""));
  };
  search.addEventListener("input", draw);
  hallFilter.addEventListener("change", draw);
  const reload = async () => {
    let audit;
    [users, audit] = await Promise.all([api("/api/v1/users"), api("/api/v1/console/users/audit?limit=50")]);
    draw();
    mount(trail, h("h3", t("users_audit")), audit.length ? h("div.table-wrap", h("table.grid#audit-table",
      h("thead", h("tr", [t("users_when"), t("users_actor"), t("users_action"), t("users_user"), t("users_changes")].map((x) => h("th", x)))),
      h("tbody", audit.map((e) => h("tr", { dataset: { action: e.action } }, h("td", fmtTime(e.at)), h("td", e.actor),
        h("td", t("users_act_" + e.action.replace(".", "_"))), h("td", e.user), h("td.small", diffText(e)))))))
      : h("p.muted", t("none")));
  };
  mount(main, h("div.page-head", h("h2", t("nav_users"))), createForm(reload, msg), msg,
    h("div.btns.users-filter", search, hallFilter), list, trail);
  await reload();
}
