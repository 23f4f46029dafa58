// 一键查岗: one click asks every edge of the hall for each window's state and a fresh picture; the sheet is stored.
import { api, mount, evidenceUrl, h, onEvent, pollWhile, errorText, showError } from "./api.js";
import { fmtTime, t } from "./i18n.js";
import { ctx, hallName } from "./state.js";
import "./console_i18n.js";

export function hallPicker(id) {
  const saved = localStorage.getItem("hw.hall");
  const sel = h(`select#${id}`, ctx.halls.map((x) => h("option", { value: x.id, selected: x.id === saved }, x.name)));
  sel.addEventListener("change", () => localStorage.setItem("hw.hall", sel.value));
  return sel;
}

export async function renderDuty(main) {
  const pick = hallPicker("duty-hall");
  const list = h("tbody#duty-history");
  const run = ctx.can("duty_check") ? h("button.primary.big#run-duty", {
    onclick: async () => {
      run.disabled = true;
      try {
        const r = await api(`/api/v1/console/halls/${encodeURIComponent(pick.value)}/duty-checks`, { method: "POST" });
        location.hash = `#/duty/${r.id}`;
      } catch (ex) { run.disabled = false; alert(errorText(ex)); }
    },
  }, t("run_duty")) : null;
  const load = async () => {
    const rows = await api(`/api/v1/console/halls/${encodeURIComponent(pick.value)}/duty-checks`);
    list.replaceChildren(...rows.map((d) => h("tr",
      h("td", fmtTime(d.requested_at)), h("td", d.requested_by || "—"),
      h("td", `${d.windows_answered}/${d.windows_total}`), h("td", { class: `duty-${d.status}` }, t("duty_" + d.status)),
      h("td", h("a", { href: `#/duty/${d.id}` }, t("open"))))));
  };
  pick.addEventListener("change", load);
  mount(main, h("div.page-head", h("h2", t("nav_duty")), pick), run,
    h("h3", t("history")),
    h("table.grid.stack", h("thead", h("tr", [t("time"), t("requested_by"), t("windows_answered"), t("status"), ""].map((x) => h("th", x)))), list));
  await load();
}

export async function renderDutySheet(main, id) {
  const d = await api(`/api/v1/console/duty-checks/${id}`);
  const tiles = d.windows.map((w) => {
    const state = w.state || "unknown";
    return h("div.sheet-card", { class: `sheet-card state-${state}`, dataset: { windowId: w.window_id, state } },
      w.snapshot_sha256 ? h("img", { src: evidenceUrl(w.snapshot_sha256), alt: w.name })
        : h("div.nopic", w.picture_waiting ? t("duty_uploading") : t("no_picture")),
      h("div.sheet-title", `${w.number} ${w.name}`),
      h("div.state", t(state), w.persons != null ? ` · ${t("persons")} ${w.persons}` : ""),
      h("div.roster.muted", `${t("post_a")}: ${w.staff_a || "—"}　${t("post_b")}: ${w.staff_b || "—"}`));
  });
  const pdf = h("a.button#duty-pdf", { href: `/api/v1/console/duty-checks/${id}/report.pdf`, download: `duty-check-${id}.pdf` }, t("download_pdf"));
  mount(main, 
    h("div.page-head", h("h2#duty-title", `${t("duty_sheet")} · ${hallName(d.hall_id)}`),
      h("div.btns.noprint", h("button#print", { onclick: () => window.print() }, t("print")), pdf, h("a", { href: "#/duty" }, "← " + t("history")))),
    h("p.muted", `${fmtTime(d.requested_at)} · ${t("requested_by")} ${d.requested_by || "—"} · ${t("windows_answered")} ${d.windows_answered}/${d.windows_total}`),
    d.status === "pending" ? h("p.banner#duty-waiting", t("duty_running")) : null,
    d.status === "uploading" ? h("p.banner#duty-uploading", t("duty_uploading")) : null,
    d.status === "failed" ? h("p.banner.error#duty-failed", d.note || t("error")) : null,
    h("div.sheet#duty-sheet", tiles));
  if (d.status === "pending" || d.status === "uploading") {
    let done = false;
    const again = () => { if (!done) { done = true; off(); renderDutySheet(main, id); } };
    const off = onEvent(({ type, data }) => { if (type === "duty_check" && String(data.id) === String(id) && location.hash === `#/duty/${id}`) again(); });
    pollWhile(`#/duty/${id}`, again);
  }
}
