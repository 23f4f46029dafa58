// Patrol log (巡查记录) for phones: category, window, description, photo; and the shift handover with signature.
import { api, mount, evidenceUrl, h, errorText, showError, showOk, shrinkPhoto } from "./api.js";
import { fmtTime, ruleName, t } from "./i18n.js";
import { ctx } from "./state.js";
import { hallPicker } from "./duty.js";
import "./console_i18n.js";

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
    h("label", t("description"), h("textarea#patrol-description", { name: "description", rows: 3, required: true, maxlength: 4000 })),
    h("label", t("photo"), h("input#patrol-photo", { type: "file", name: "photo", accept: "image/*", capture: "environment" })),
    h("button.primary.big", { type: "submit" }, t("submit")), msg);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    fd.set("hall_id", pick.value);
    if (!fd.get("photo")?.size) fd.delete("photo");
    else fd.set("photo", await shrinkPhoto(fd.get("photo")));
    try {
      const r = await api("/api/v1/console/patrol-findings", { method: "POST", form: fd });
      showOk(msg, `${t("saved")} #${r.id}`);
      form.reset();
      await load();
    } catch (ex) { showError(msg, ex); }
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

// A signature pad: pointer strokes on a canvas (finger on a phone, mouse on a desk); empty() until drawn.
export function signaturePad(id) {
  const canvas = h(`canvas#${id}.sig-pad`, { width: 600, height: 200 });
  const g = canvas.getContext("2d");
  let drawing = false, inked = false;
  const at = (e) => { const r = canvas.getBoundingClientRect(); return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height]; };
  canvas.addEventListener("pointerdown", (e) => { drawing = true; canvas.setPointerCapture(e.pointerId); g.beginPath(); g.moveTo(...at(e)); e.preventDefault(); });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    g.lineWidth = 4; g.lineCap = "round"; g.lineJoin = "round"; g.strokeStyle = "#102a43";
    g.lineTo(...at(e)); g.stroke(); inked = true; e.preventDefault();
  });
  const end = () => { drawing = false; };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  const wipe = () => { g.clearRect(0, 0, canvas.width, canvas.height); inked = false; };
  const clear = h("button.link", { type: "button", onclick: wipe }, t("handover_clear"));
  return { el: h("div.sig-wrap", canvas, clear), empty: () => !inked, clear: wipe, dataUrl: () => canvas.toDataURL("image/png") };
}

function summaryBlock(summary, id) {
  const last = summary.last_safety_check;
  return h("div.handover-summary", { id },
    h("h4", `${t("handover_open_alerts")} (${summary.open_alerts.length})`),
    summary.open_alerts.length ? h("ul.plain", summary.open_alerts.map((a) => h("li", { class: `sev-${a.severity}`, dataset: { alertId: a.id } },
      h("a", { href: `#/alert/${a.id}` }, `#${a.id}`), ` ${ruleName(a.rule, a.rule_name)} · `,
      a.window_name ? `${a.window_number ?? ""} ${a.window_name}` : (a.sensor_name || "—"), ` · ${t("st_" + a.status)}`)))
      : h("p.muted", t("handover_none")),
    h("h4", t("handover_last_safety")),
    last ? h("p", h("a", { href: `#/safety/${last.id}` }, `${fmtTime(last.started_at)} · ${t("outcome_" + (last.outcome || "pending"))}`),
      last.signed_by ? ` · ${t("signed_by")} ${last.signed_by}` : "") : h("p.muted", t("handover_none")));
}

export async function renderHandover(main) {
  const pick = hallPicker("handover-hall");
  const msg = h("p.msg#handover-msg", "");
  const list = h("ul.cards#handover-list");
  const inbox = h("div#handover-inbox");
  const to = h("select#handover-to", { name: "to_user_id", required: true });
  const pad = signaturePad("handover-signature");
  const summary = h("div");
  let key = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2);
  const submit = h("button.primary.big#handover-submit", { type: "submit" }, t("handover_sign"));
  const form = h("form.phone-form#handover-form",
    h("label", t("handover_from"), h("input", { value: ctx.me.display_name || ctx.me.username, disabled: true })),
    h("label", t("handover_to_user"), to),
    summary,
    h("label", t("handover_notes"), h("textarea#handover-notes", { name: "notes", rows: 4, maxlength: 4000 })),
    h("div.field", h("span", t("handover_draw")), pad.el),
    submit, msg);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!to.value) { msg.textContent = t("handover_choose"); return; }
    if (pad.empty()) { msg.textContent = t("handover_sign_needed"); return; }
    submit.disabled = true;
    try {
      await api("/api/v1/console/handovers", { method: "POST", body: {
        hall_id: pick.value, to_user_id: Number(to.value), notes: form.elements.notes.value,
        signature_png: pad.dataUrl(), idempotency_key: key } });
      showOk(msg, t("saved"));
      key = crypto.randomUUID ? crypto.randomUUID() : String(Date.now());
      form.reset();
      pad.clear();
      await load();
    } catch (ex) { showError(msg, ex); }
    finally { submit.disabled = false; }
  });
  function card(x) {
    const sig = (sha, who) => sha ? h("figure.sig", h("img", { src: evidenceUrl(sha), alt: who }), h("figcaption", who)) : null;
    return h("li.card", { dataset: { handoverId: x.id, status: x.status } },
      h("div", h("strong", `${x.from_name} → ${x.to_name}`), ` · ${fmtTime(x.signed_at)} · `,
        h("span.badge", { class: `badge ho-${x.status}` }, t(x.status === "pending" ? "handover_pending" : "handover_accepted"))),
      x.notes ? h("div", x.notes) : null,
      h("div.sigs", sig(x.from_signature, `${t("handover_from")}: ${x.from_name}`),
        sig(x.to_signature, `${t("handover_received")}: ${x.to_name} · ${fmtTime(x.received_at)}`)),
      h("details", h("summary", `${t("handover_open_alerts")} ${x.summary.open_alerts.length} · ${t("handover_last_safety")}`),
        summaryBlock(x.summary, `handover-summary-${x.id}`)));
  }
  function acceptCard(x) {
    const apad = signaturePad(`accept-signature-${x.id}`);
    const amsg = h("p.msg", "");
    const btn = h("button.primary.big.accept", { type: "button", onclick: async () => {
      if (apad.empty()) { amsg.textContent = t("handover_sign_needed"); return; }
      btn.disabled = true;
      try {
        await api(`/api/v1/console/handovers/${x.id}/accept`, { method: "POST", body: { signature_png: apad.dataUrl() } });
        await load();
      } catch (ex) { showError(amsg, ex); btn.disabled = false; }
    } }, t("handover_accept"));
    return h("div.card.accept-card", { dataset: { handoverId: x.id } },
      h("h3", t("handover_for_you")),
      h("div", h("strong", `${x.from_name} → ${x.to_name}`), ` · ${fmtTime(x.signed_at)}`),
      x.notes ? h("div", x.notes) : null, summaryBlock(x.summary, `accept-summary-${x.id}`),
      h("div.field", h("span", t("signature")), apad.el), btn, amsg);
  }
  async function load() {
    const [rows, people, now] = await Promise.all([
      api(`/api/v1/console/handovers?hall_id=${encodeURIComponent(pick.value)}`),
      api(`/api/v1/console/handovers/receivers?hall_id=${encodeURIComponent(pick.value)}`),
      api(`/api/v1/console/handovers/summary?hall_id=${encodeURIComponent(pick.value)}`)]);
    to.replaceChildren(h("option", { value: "" }, "—"), ...people.map((u) => h("option", { value: u.id }, u.name)));
    summary.replaceChildren(summaryBlock(now, "handover-now"));
    inbox.replaceChildren(...rows.filter((x) => x.status === "pending" && x.to_user_id === ctx.me.id).map(acceptCard));
    list.replaceChildren(...rows.map(card));
  }
  pick.addEventListener("change", load);
  mount(main, h("div.page-head", h("h2", t("nav_handover")), pick), inbox, form, h("h3", t("handovers")), list);
  await load();
}
