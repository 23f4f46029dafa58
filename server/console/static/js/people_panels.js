// Next to a finding (alert detail): who is charged and why, the approval that suppressed it or moved it to another
// person, its appeal, and the queue at the window during the episode (people waiting at an empty seat).
import { api, h, mount } from "./api.js";
import { t } from "./i18n.js";
import { approvalNote, num, statusBadge } from "./people_util.js";
import { basisName } from "./assessment_util.js";

export function contextPanel(alertId, rule) {
  const box = h("div.people-context#people-context", h("p.muted.small", t("loading")));
  api(`/api/v1/people/alerts/${alertId}/context`).then((c) => {
    const q = c.queue;
    const waiting = q && (q.waiting_max || 0) > 0;
    mount(box,
      h("dl.context-facts",
        h("dt", t("charged_to")), h("dd#context-charged", c.charged.staff_id ? `${c.charged.name || c.charged.staff_id}` : t("window_only_short"),
          h("span.muted.small", ` · ${basisName(c.charged.basis)}`)),
        c.appeal ? [h("dt", t("appeal")), h("dd", statusBadge("ap", c.appeal.status), c.appeal.comment ? h("span.small", ` ${c.appeal.comment}`) : null)] : null,
        q && q.reported ? [h("dt", t("queue_during")), h("dd#context-queue", { class: waiting && rule === "window_unstaffed" ? "queue-warn" : "" },
          t("queue_line", { start: num(q.waiting_at_start), max: num(q.waiting_max), called: num(q.tickets_called) }),
          waiting && rule === "window_unstaffed" ? h("div.small", t("queue_empty_seat")) : null)] : null),
      approvalNote(c.approval, c.staff_names || {}));
  }).catch(() => mount(box));
  return box;
}
