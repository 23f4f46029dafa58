// Patrol log (巡查记录) for phones: category, window, description, photo; and the shift handover with signature.
import { api, mount, evidenceUrl, h } from "./api.js";
import { fmtTime, t } from "./i18n.js";
import { ctx } from "./state.js";
import { hallPicker } from "./duty.js";

const CATEGORIES = ["discipline", "service", "environment", "safety", "equipment", "other"];

function windowOptions(hallId) {
  const hall = ctx.halls.find((x) => x.id === hallId);
  return [h("option", { value: "" }, "—"), ...(hall ? hall.windows.map((w) => h("option", { value: w.id }, `${w.number} ${w.name}`)) : [])];
}

export async function renderPatrol(main) {
  const pick = hallPicker("patrol-hall");
  const win = h("select#patrol-window", { name: "window_id" }, windowOptions(pick.value));
  pick.addEventListener("change", () => { win.replaceChildren(...windowOptions(pick.value)); load(); });
  const msg = h("p.msg#patrol-msg", "");
  const list = h("ul.cards#patrol-list");
  const form = h("form.phone-form#patrol-form",
    h("label", t("category"), h("select#patrol-category", { name: "category" }, CATEGORIES.map((c) => h("option", { value: c }, t("cat_" + c))))),
    h("label", t("window"), win),
    h("label", t("description"), h("textarea#patrol-description", { name: "description", rows: 3, required: true })),
    h("label", t("photo"), h("input#patrol-photo", { type: "file", name: "photo", accept: "image/*", capture: "environment" })),
    h("button.primary.big", { type: "submit" }, t("submit")), msg);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    fd.set("hall_id", pick.value);
    if (!fd.get("photo")?.size) fd.delete("photo");
    try {
      const r = await api("/api/v1/console/patrol-findings", { method: "POST", form: fd });
      msg.textContent = `${t("saved")} #${r.id}`;
      form.reset();
      await load();
    } catch (ex) { msg.textContent = ex.status === 403 ? t("forbidden") : ex.detail || String(ex); }
  });
  async function load() {
    const rows = await api(`/api/v1/console/patrol-findings?hall_id=${encodeURIComponent(pick.value)}`);
    list.replaceChildren(...rows.map((f) => h("li.card", { dataset: { findingId: f.id } },
      f.photo_sha256 ? h("img.thumb", { src: evidenceUrl(f.photo_sha256), alt: "" }) : null,
      h("div", h("strong", t("cat_" + f.category)), ` · ${f.window_name || "—"} · ${fmtTime(f.created_at)}`),
      h("div", f.description), h("div.muted", `${t("inspector")}: ${f.inspector || "—"}${f.alert_id ? ` · ${t("alert")} #${f.alert_id}` : ""}`))));
  }
  mount(main, h("div.page-head", h("h2", t("nav_patrol")), pick), form, h("h3", t("findings")), list);
  await load();
}

export async function renderHandover(main) {
  const pick = hallPicker("handover-hall");
  const msg = h("p.msg#handover-msg", "");
  const list = h("ul.cards#handover-list");
  const form = h("form.phone-form#handover-form",
    h("label", t("handover_from"), h("input", { value: ctx.me.display_name || ctx.me.username, disabled: true })),
    h("label", t("handover_to"), h("input#handover-to", { name: "to_name", required: true })),
    h("label", t("handover_notes"), h("textarea#handover-notes", { name: "notes", rows: 4 })),
    h("label", t("signature"), h("input#handover-signature", { name: "signature", required: true })),
    h("button.primary.big", { type: "submit" }, t("handover_sign")), msg);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = Object.fromEntries(new FormData(form).entries());
    body.hall_id = pick.value;
    try {
      await api("/api/v1/console/handovers", { method: "POST", body });
      msg.textContent = t("saved");
      form.reset();
      await load();
    } catch (ex) { msg.textContent = ex.status === 403 ? t("forbidden") : ex.detail || String(ex); }
  });
  async function load() {
    const rows = await api(`/api/v1/console/handovers?hall_id=${encodeURIComponent(pick.value)}`);
    list.replaceChildren(...rows.map((x) => h("li.card",
      h("div", h("strong", `${x.from_name} → ${x.to_name}`), ` · ${fmtTime(x.signed_at)}`),
      x.notes ? h("div", x.notes) : null, h("div.muted", `${t("signature")}: ${x.signature}`))));
  }
  pick.addEventListener("change", load);
  mount(main, h("div.page-head", h("h2", t("nav_handover")), pick), form, h("h3", t("handovers")), list);
  await load();
}
