// 下班安全检查: automatic after closing + grace and on demand; items pass/fail with evidence; officer signs off; PDF.
import { api, mount, evidenceUrl, h, onEvent, pollWhile, errorText, showError } from "./api.js";
import { fmtTime, getLang, itemName, t } from "./i18n.js";
import { ctx, hallName } from "./state.js";
import { hallPicker } from "./duty.js";
import "./console_i18n.js";

const triggerLabel = (tr) => t(tr === "auto" ? "trigger_auto" : tr === "preview" ? "trigger_preview" : "trigger_manual");

async function startCheck(hallId, mode) {
  const r = await api(`/api/v1/console/halls/${encodeURIComponent(hallId)}/safety-checks?mode=${mode}`, { method: "POST" });
  location.hash = `#/safety/${r.id}`;
}

const RESULT = (p) => (p === true ? ["pass", "pass"] : p === false ? ["fail", "fail"] : ["na", "undetermined"]);

export async function renderSafety(main) {
  const pick = hallPicker("safety-hall");
  const list = h("tbody#safety-history");
  const run = ctx.can("safety_check") ? h("button.primary.big#run-safety", {
    onclick: async () => {
      run.disabled = true;
      try {
        await startCheck(pick.value, "auto");
      } catch (ex) { run.disabled = false; alert(errorText(ex)); }
    },
  }, t("run_safety")) : null;
  const load = async () => {
    const rows = await api(`/api/v1/console/halls/${encodeURIComponent(pick.value)}/safety-checks`);
    list.replaceChildren(...rows.map((c) => h("tr", { class: `outcome-${c.outcome || "pending"}` },
      h("td", fmtTime(c.started_at)), h("td", triggerLabel(c.trigger)),
      h("td", t("outcome_" + (c.outcome || "pending"))), h("td", c.signed_by || "—"),
      h("td", h("a", { href: `#/safety/${c.id}` }, t("open"))))));
  };
  pick.addEventListener("change", load);
  mount(main, h("div.page-head", h("h2", t("nav_safety")), pick), run, h("h3", t("history")),
    h("table.grid.stack", h("thead", h("tr", [t("time"), t("trigger"), t("outcome"), t("signed_by"), ""].map((x) => h("th", x)))), list));
  await load();
}

export async function renderSafetySheet(main, id, note = "") {
  const c = await api(`/api/v1/console/safety-checks/${id}`);
  const rows = c.items.map((it) => {
    const [cls, key] = RESULT(it.passed);
    const snap = (it.evidence || []).find((e) => e.kind === "snapshot" || e.kind === "frame");
    return h("tr", { class: `res-${cls}`, dataset: { item: it.item, subject: it.subject } },
      h("td", itemName(it.item)), h("td", it.subject_name || it.subject),
      h("td", h("span.badge", { class: `badge res-${cls}` }, t(key))),
      h("td.wrap", (getLang() === "zh" ? it.detail_zh : it.detail) || it.detail || "", it.alert_id ? h("a", { href: `#/alert/${it.alert_id}` }, ` ${t("alert")} #${it.alert_id}`) : null),
      h("td", snap ? h("a", { href: evidenceUrl(snap.sha256), target: "_blank" }, h("img.thumb", { src: evidenceUrl(snap.sha256), alt: "" })) : ""));
  });
  const pdfHref = `/api/v1/console/safety-checks/${id}/report.pdf`;
  let sign = null;
  if (c.signed_by) {
    sign = h("p.signed#signed", `${t("signed_by")}: ${c.signed_by} · ${t("signed_at")}: ${fmtTime(c.signed_at)}${c.sign_comment ? " · " + c.sign_comment : ""}`);
  } else if (ctx.can("sign_safety") && c.outcome && !c.preview) {
    const comment = h("input#sign-comment", { placeholder: t("comment"), maxlength: 2000 });
    const msg = h("span.msg", "");
    sign = h("div.actions.noprint", comment, h("button.primary#btn-sign", {
      onclick: async () => {
        try { await api(`/api/v1/console/safety-checks/${id}/sign`, { method: "POST", body: { comment: comment.value } }); renderSafetySheet(main, id, t("saved")); }
        catch (ex) { showError(msg, ex); }
      },
    }, t("sign_off")), msg);
  }
  mount(main, 
    h("div.page-head", h("h2#safety-title", `${t("nav_safety")} · ${hallName(c.hall_id)}`),
      h("div.btns.noprint", h("button", { onclick: () => window.print() }, t("print")),
        h("a.button#safety-pdf", { href: pdfHref, download: `safety-check-${id}.pdf` }, t("download_pdf")),
        h("a", { href: "#/safety" }, "← " + t("history")))),
    c.preview ? h("div.banner.preview#safety-preview", t("safety_preview"),
      ctx.can("safety_check") ? h("button.warn#run-full", { onclick: async () => {
        if (confirm(t("run_full_confirm"))) await startCheck(c.hall_id, "full");
      } }, t("run_full")) : null) : null,
    h("p", `${fmtTime(c.started_at)} · ${triggerLabel(c.trigger)} · ${t("outcome")}: `,
      h("strong#safety-outcome", { class: `outcome-${c.outcome || "pending"}` }, t("outcome_" + (c.outcome || "pending")))),
    !c.outcome ? h("p.banner#safety-waiting", t("outcome_pending") + "…") : null,
    h("table.grid.stack#safety-items", h("thead", h("tr", [t("safety_item"), t("safety_subject"), t("result"), t("details"), t("snapshot")].map((x) => h("th", x)))), h("tbody", rows)),
    sign, note ? h("p.msg", note) : null);
  if (!c.outcome) {
    let done = false;
    const again = () => { if (!done) { done = true; off(); renderSafetySheet(main, id); } };
    const off = onEvent(({ type, data }) => { if (type === "safety_check" && String(data.id) === String(id) && location.hash === `#/safety/${id}`) again(); });
    pollWhile(`#/safety/${id}`, again);
  }
}
