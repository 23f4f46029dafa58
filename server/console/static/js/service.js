// 服务评价 (queue and 好差评): per window, tickets issued / called / served, the longest queue, citizens' evaluations,
// and empty-seat findings split by whether people were waiting (an empty seat with a queue is the worse one).
import { api, h, mount } from "./api.js";
import { t } from "./i18n.js";
import { hallPicker } from "./duty.js";
import { addDays, errorText, hallTz, num, todayIn } from "./people_util.js";
import { fmtDuration } from "./assessment_util.js";

export async function renderService(main) {
  const pick = hallPicker("service-hall");
  const since = h("input#service-since", { type: "date" });
  const until = h("input#service-until", { type: "date" });
  const body = h("tbody#service-rows");
  const reset = () => { const d = todayIn(hallTz(pick.value)); since.value = addDays(d, -6); until.value = d; };
  async function load() {
    const q = new URLSearchParams({ since: since.value, until: until.value });
    try {
      const r = await api(`/api/v1/people/halls/${encodeURIComponent(pick.value)}/service-summary?${q}`);
      body.replaceChildren(...r.windows.map((w) => {
        const e = w.evaluations;
        return h("tr", { dataset: { window: w.window.id }, class: w.empty_with_queue ? "queue-warn" : "" },
          h("td", h("strong", `${w.window.number} ${w.window.name}`)),
          h("td.num", num(w.tickets_issued)), h("td.num", num(w.tickets_called)), h("td.num", num(w.tickets_served)),
          h("td.num", num(w.waiting_max)),
          h("td.num", num(e.count)), h("td.num.pos", num(e.good)), h("td.num", num(e.basic)), h("td.num.neg", num(e.bad)),
          h("td.num", e.average == null ? "—" : e.average.toFixed(2)),
          h("td.num", num(w.empty_findings)),
          h("td.num", { class: w.empty_with_queue ? "num neg" : "num" }, num(w.empty_with_queue),
            w.empty_with_queue_s ? h("div.small", fmtDuration(w.empty_with_queue_s)) : null));
      }));
    } catch (ex) { body.replaceChildren(h("tr", h("td.error", { colspan: 12 }, errorText(ex)))); }
  }
  pick.addEventListener("change", () => { reset(); load(); });
  since.addEventListener("change", load);
  until.addEventListener("change", load);
  reset();
  const head = [t("window"), t("tickets_issued"), t("tickets_called"), t("tickets_served"), t("waiting_max"),
    t("evaluations"), t("eval_good"), t("eval_basic"), t("eval_bad"), t("eval_average"), t("empty_findings"), t("empty_with_queue")];
  mount(main, h("div.page-head", h("h2", t("nav_service")), pick),
    h("p.muted.small", t("service_explain")),
    h("div.filters", h("label", t("since"), since), h("label", t("until"), until)),
    h("div.scroll", h("table.grid#service-table", h("thead", h("tr", head.map((x, i) => h("th", { class: i ? "num" : "" }, x)))), body)));
  await load();
}
