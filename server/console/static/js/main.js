// Console shell: login, role-aware navigation (capabilities come from the server), hash router, language switch.
import { api, mount, ApiError, connectEvents, disconnectEvents, errorText, h, session } from "./api.js";
import { getLang, setLang, t } from "./i18n.js";
import { ctx } from "./state.js";
import { renderFeed } from "./feed.js";
import { renderBoard } from "./board.js";
import { renderAlert } from "./alert.js";
import { renderDuty, renderDutySheet } from "./duty.js";
import { renderSafety, renderSafetySheet } from "./safety.js";
import { renderPatrol, renderHandover } from "./patrol.js";
import { renderAssessment } from "./assessment.js";
import { PEOPLE_NAV, PEOPLE_ROUTES, homeFor } from "./people.js";
import { renderCounty } from "./county.js";
import { attachCues, stopCues } from "./alarm.js";
import { OPS_NAV, OPS_ROUTES } from "./ops.js";

const NAV = [
  ["#/feed", "nav_feed", "view"],
  ["#/board", "nav_board", "view"],
  ["#/duty", "nav_duty", "view"],
  ["#/safety", "nav_safety", "view"],
  ["#/patrol", "nav_patrol", "patrol"],
  ["#/handover", "nav_handover", "handover"],
  ["#/assessment", "nav_assessment", "view"],
  ...PEOPLE_NAV,
  ["#/county", "nav_county", "county"],
  ...OPS_NAV,
];

const ROUTES = [
  [/^#\/feed$/, renderFeed],
  [/^#\/board$/, renderBoard],
  [/^#\/alert\/(\d+)$/, renderAlert],
  [/^#\/duty$/, renderDuty],
  [/^#\/duty\/(\d+)$/, renderDutySheet],
  [/^#\/safety$/, renderSafety],
  [/^#\/safety\/(\d+)$/, renderSafetySheet],
  [/^#\/patrol$/, renderPatrol],
  [/^#\/handover$/, renderHandover],
  [/^#\/assessment(?:\?(.*))?$/, renderAssessment],
  ...PEOPLE_ROUTES,
  [/^#\/county(?:\/([^/?]+))?$/, renderCounty],
  ...OPS_ROUTES,
];


function setConnection(ok) {
  const el = document.getElementById("conn");
  if (!el) return;
  el.textContent = ok ? `● ${t("live")}` : `○ ${t("disconnected")}`;
  el.className = ok ? "conn ok" : "conn bad";
}

function shell(main) {
  const nav = h("nav.nav#nav",
    NAV.filter(([, , cap]) => ctx.can(cap)).map(([href, key]) =>
      h("a", { href, class: location.hash.startsWith(href) ? "active" : "", dataset: { nav: href.slice(2) } }, t(key))));
  const top = h("header.top",
    h("div.brand", h("span.logo", "◉"), h("span", t("app"))),
    nav,
    h("div.right",
      h("span.conn#conn", ""),
      h("span.who#who", `${ctx.me.display_name || ctx.me.username} · ${t("role_" + ctx.me.role)}`),
      h("button.link#lang", { onclick: () => { setLang(getLang() === "zh" ? "en" : "zh"); route(); } }, t("lang_switch")),
      h("button.link#logout", { onclick: logout }, t("logout"))));
  document.body.replaceChildren(top, h("main#main", main));
  if (ctx.can("view")) { connectEvents(setConnection); attachCues(); }
}

async function logout() {
  disconnectEvents();
  stopCues();
  try { await api("/api/v1/auth/logout", { method: "POST" }); } catch { /* already logged out */ }
  session.clear();
  ctx.me = null;
  location.hash = "#/login";
}

function renderLogin() {
  const err = h("p.error#login-error", "");
  const user = h("input#username", { name: "username", autocomplete: "username", placeholder: t("username") });
  const pass = h("input#password", { name: "password", type: "password", autocomplete: "current-password", placeholder: t("password") });
  const form = h("form.login-card",
    { onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = "";
      if (!user.value.trim() || !pass.value) { err.textContent = t("login_empty"); return; }
      try {
        const r = await api("/api/v1/auth/login", { method: "POST", body: { username: user.value, password: pass.value } });
        session.set(r.access_token, r.user);
        ctx.me = null;
        location.hash = "#/feed";
      } catch (ex) { err.textContent = ex instanceof ApiError && ex.status === 401 ? t("login_failed") : errorText(ex); }
    } },
    h("h1", t("app")),
    h("label", t("username"), user),
    h("label", t("password"), pass),
    h("button.primary#login-submit", { type: "submit" }, t("login")),
    err,
    h("button.link", { type: "button", onclick: () => { setLang(getLang() === "zh" ? "en" : "zh"); renderLogin(); } }, t("lang_switch")));
  document.body.replaceChildren(h("div.login-page", form));
  user.focus();
}

export async function route() {
  setLang(getLang());
  const hash = location.hash || "#/feed";
  if (!session.token || hash === "#/login") { disconnectEvents(); renderLogin(); return; }
  try {
    if (!ctx.me) {
      ctx.me = await api("/api/v1/console/me");
      ctx.halls = await api("/api/v1/console/halls");
    }
  } catch { session.clear(); renderLogin(); return; }
  const home = homeFor(ctx.me) || (ctx.me.role === "county" ? "#/county" : null);
  if (home && !hash.startsWith(home)) { location.hash = home; return; }
  for (const [re, fn] of ROUTES) {
    const m = hash.match(re);
    if (m) {
      const main = h("div.page", t("loading"));
      shell(main);
      const need = NAV.find(([href]) => hash === href || hash.startsWith(href + "/") || hash.startsWith(href + "?"));
      if (need && need[2] && !ctx.can(need[2])) { mount(main, h("p.error#forbidden", t("forbidden"))); return; }
      try { await fn(main, ...m.slice(1)); }
      catch (ex) { mount(main, h("p.error", `${t("error")}: ${ex.status === 403 ? t("forbidden") : ex.message}`)); }
      return;
    }
  }
  location.hash = "#/feed";
}

window.addEventListener("hashchange", route);
route();
