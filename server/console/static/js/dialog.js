// A modal form dialog (<dialog>): title, fields, OK / Cancel. onOk may throw: its message stays in the dialog.
import { h } from "./api.js";
import { t } from "./i18n.js";

export function openDialog({ id, title, body = [], okLabel, okClass = "primary", onOk }) {
  const msg = h("p.error.dialog-msg", { id: `${id}-msg` }, "");
  const ok = h(`button.${okClass}`, { id: `${id}-ok`, type: "submit" }, okLabel || t("ok"));
  const dlg = h("dialog.modal", { id },
    h("form", { method: "dialog", novalidate: true },
      h("h3", title),
      body,
      msg,
      h("div.btns.dialog-btns",
        h("button", { type: "button", id: `${id}-cancel`, onclick: () => dlg.close() }, t("cancel")), ok)));
  dlg.querySelector("form").addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.textContent = "";
    ok.disabled = true;
    try {
      await onOk();
      dlg.close();
    } catch (ex) {
      msg.textContent = ex.status === 403 ? t("forbidden") : (ex.detail || ex.message || String(ex));
    } finally { ok.disabled = false; }
  });
  dlg.addEventListener("close", () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  return dlg;
}
