// 季度考核: hall and period pickers, windows / staff tabs, the ranked sheet, role-aware actions; a row opens its breakdown.
import { api, mount, h } from "./api.js";
import { fmtTime, t } from "./i18n.js";
import { ctx, hallName } from "./state.js";
import { currentQuarter, isQuarter, periodOptions, pts, shortSha, signed, subjectName } from "./assessment_util.js";
import { actionBar } from "./assessment_actions.js";
import { renderDetail } from "./assessment_detail.js";

const cache = { scheme: null, rules: null };

function hallTz(hallId) {
  const hall = ctx.halls.find((x) => x.id === hallId);
  return (hall && hall.timezone) || "Asia/Shanghai";
}

function periodPicker(st) {
  const { quarters, months } = periodOptions(hallTz(st.hall));
  if (![...quarters, ...months].includes(st.period)) (isQuarter(st.period) ? quarters : months).unshift(st.period);
  const opt = (p) => h("option", { value: p, selected: p === st.period }, p);
  return h("select#asm-period", h("optgroup", { label: t("asm_quarters") }, quarters.map(opt)),
    h("optgroup", { label: t("asm_months") }, months.map(opt)));
}

function hallPick(st) {
  return h("select#asm-hall", ctx.halls.map((x) => h("option", { value: x.id, selected: x.id === st.hall }, x.name)));
}

function saveHash(st) {
  const q = new URLSearchParams({ hall: st.hall, period: st.period, tab: st.tab });
  if (st.subject) q.set("subject", st.subject);
  history.replaceState(null, "", `#/assessment?${q}`);
}

function statusBanner(sheet) {
  const so = sheet.signoff;
  if (so) {
    return h("div.banner.frozen#asm-frozen",
      h("strong", t("asm_frozen_title")), " ", t("asm_frozen", { by: so.signed_by, at: fmtTime(so.signed_at) }),
      h("div.muted.mono", `${t("sheet_sha")}: ${shortSha(so.effective_sha256)}`),
      so.amendments.length ? h("div.amendments#asm-amendments", h("strong", `${t("amendments")}:`),
        h("ol", so.amendments.map((a) => h("li", { dataset: { seq: a.seq } },
          `${fmtTime(a.at)} · ${a.by} · ${a.reason} — `,
          a.changes.map((c) => `${c.subject_id} ${pts(c.score_before ?? 100)} → ${pts(c.score_after ?? 100)}`).join("; "))))) : null);
  }
  return h("div.banner.live#asm-live", sheet.provisional ? t("asm_provisional_note") : t("asm_live_note"));
}

function doubledCount(entry) {
  return entry.sheet.lines.filter((ln) => ln.kind === "deduction" && ln.multiplier > 1).length;
}

function stateBadge(sheet, entry) {
  if (sheet.signoff) return h("span.badge.asm-signed", t("asm_signed"));
  if (entry.sheet.provisional) return h("span.badge.asm-provisional", t("asm_provisional"));
  return h("span.badge.asm-live", t("asm_live"));
}

function rankingTable(st, sheet, onPick) {
  const byId = Object.fromEntries(sheet[st.tab].map((e) => [e.id, e]));
  const rows = sheet.ranking[st.tab].map((r) => {
    const e = byId[r.subject_id];
    const dbl = doubledCount(e);
    return h("tr.asm-row", { class: `asm-row${st.subject === e.id ? " selected" : ""}`, tabindex: 0,
      dataset: { subject: e.id, score: e.sheet.score, rank: r.rank }, onclick: () => onPick(e.id),
      onkeydown: (ev) => { if (ev.key === "Enter") onPick(e.id); } },
    h("td.num", String(r.rank)),
    h("td", h("strong", subjectName(e, st.tab)), " ", h("span.muted", e.id)),
    h("td.num", pts(e.sheet.base_points)),
    h("td.num.neg", e.sheet.deduction_total ? signed(e.sheet.deduction_total, "deduction") : "0"),
    h("td.num.pos", e.sheet.bonus_total ? signed(e.sheet.bonus_total, "bonus") : "0"),
    h("td.num.score", pts(e.sheet.score)),
    h("td", stateBadge(sheet, e), dbl ? h("span.badge.doubled", { title: t("monthly_doubling", { n: sheet.scheme.doubling.threshold }) },
      `×${sheet.scheme.doubling.factor} ${t("doubled")} ${dbl}`) : null));
  });
  return h("table.grid.asm-ranking#asm-ranking",
    h("thead", h("tr", [t("rank"), t("name"), t("base"), t("deductions"), t("bonuses"), t("score"), t("asm_state")]
      .map((x, i) => h("th", { class: i && i < 6 && i !== 1 ? "num" : "" }, x)))),
    h("tbody", rows));
}

function isEmpty(sheet) {
  return [...sheet.windows, ...sheet.staff].every((e) => e.sheet.lines.length === 0);
}

export async function renderAssessment(main, query = "") {
  if (!ctx.halls.length) { mount(main, h("p.muted", t("none"))); return; }
  const params = new URLSearchParams(query);
  const saved = localStorage.getItem("hw.hall");
  const hall = [params.get("hall"), saved, ctx.halls[0].id].find((x) => x && ctx.halls.some((y) => y.id === x));
  const st = { hall, period: params.get("period") || currentQuarter(hallTz(hall)),
    tab: params.get("tab") === "staff" ? "staff" : "windows", subject: params.get("subject") || null, findings: null };
  [cache.scheme, cache.rules] = await Promise.all([
    cache.scheme || api("/api/v1/assessment/scheme"), cache.rules || api("/api/v1/console/rules")]);

  const body = h("div#asm-body", t("loading"));
  const head = h("div.page-head", h("h2#asm-title", t("asm_title")), h("div.filters.asm-filters"));
  const msg = h("p.msg#asm-msg", "");
  mount(main, head, msg, body);

  const flash = (text, error = false) => { msg.textContent = text; msg.className = error ? "msg error" : "msg"; };

  function pickers() {
    const hp = hallPick(st);
    const pp = periodPicker(st);
    hp.addEventListener("change", () => {
      st.hall = hp.value; st.subject = null; localStorage.setItem("hw.hall", hp.value); pickers(); load();
    });
    pp.addEventListener("change", () => { st.period = pp.value; st.subject = null; load(); });
    mount(head.querySelector(".asm-filters"), h("label", t("hall"), hp), h("label", t("asm_period"), pp));
  }

  async function load(keepMsg = false) {
    if (!keepMsg) flash("");
    saveHash(st);
    st.findings = null;
    let sheet;
    try {
      sheet = await api(`/api/v1/assessment/halls/${encodeURIComponent(st.hall)}/sheets/${encodeURIComponent(st.period)}`);
    } catch (ex) {
      mount(body, h("p.error.banner#asm-error", `${t("error")}: ${ex.status === 403 ? t("forbidden") : (ex.detail || ex.message)}`));
      return;
    }
    const env = { st, sheet, scheme: cache.scheme, rules: cache.rules, hallName: hallName(st.hall), reload: load, flash };
    const detail = h("section.asm-detail#asm-detail");
    const pick = (id) => {
      st.subject = id;
      saveHash(st);
      body.querySelectorAll("#asm-ranking tr.asm-row").forEach((tr) => tr.classList.toggle("selected", tr.dataset.subject === id));
      renderDetail(detail, env).then(() => detail.scrollIntoView({ block: "nearest" }));
    };
    const tab = (key) => h("button.tab", { id: `tab-${key}`, class: `tab${st.tab === key ? " active" : ""}`, type: "button",
      onclick: () => { st.tab = key; st.subject = null; load(true); } }, `${t("tab_" + key)} (${sheet[key].length})`);
    mount(body,
      statusBanner(sheet),
      actionBar(env),
      isEmpty(sheet) ? h("p.banner.empty#asm-empty", t("asm_empty")) : null,
      h("div.tabs#asm-tabs", tab("windows"), tab("staff")),
      h("div.asm-layout", h("div.asm-table", rankingTable(st, sheet, pick)), detail));
    if (st.subject && sheet[st.tab].some((e) => e.id === st.subject)) await renderDetail(detail, env);
    else { st.subject = null; mount(detail, h("p.muted#asm-hint", t("asm_select_hint"))); }
  }

  pickers();
  await load();
}
