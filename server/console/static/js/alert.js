// Alert detail: annotated snapshot, clip player, sensor chart, timeline; acknowledge / confirm / dismiss with a comment.
import { api, mount, evidenceUrl, h } from "./api.js";
import { fmtTime, ruleName, t } from "./i18n.js";
import { ctx, hallName } from "./state.js";
import { contextPanel } from "./people_panels.js";
import { liveFigure } from "./ops_util.js";

function drawChart(canvas, points, unit) {
  const g = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, pad = 40;
  g.clearRect(0, 0, W, H);
  const xs = points.map((p) => new Date(p.at).getTime());
  const ys = points.map((p) => Number(p.value));
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const y0 = Math.min(0, ...ys), y1 = Math.max(...ys, y0 + 1);
  const X = (x) => pad + (x - x0) / (x1 - x0) * (W - pad - 10);
  const Y = (y) => H - pad + 10 - (y - y0) / (y1 - y0) * (H - pad - 10);
  g.strokeStyle = "#9aa5b1"; g.fillStyle = "#52606d"; g.font = "11px sans-serif";
  g.beginPath(); g.moveTo(pad, 5); g.lineTo(pad, H - pad + 10); g.lineTo(W - 5, H - pad + 10); g.stroke();
  g.fillText(`${y1.toFixed(0)} ${unit || ""}`, 2, 12);
  g.fillText(`${y0.toFixed(0)}`, 2, H - pad + 10);
  g.fillText(new Date(x0).toLocaleTimeString(), pad, H - 8);
  g.fillText(new Date(x1).toLocaleTimeString(), W - 70, H - 8);
  g.strokeStyle = "#1f6feb"; g.lineWidth = 2; g.beginPath();
  points.forEach((p, i) => { const x = X(xs[i]), y = Y(ys[i]); i ? g.lineTo(x, y) : g.moveTo(x, y); });
  g.stroke();
}

function evidenceBlock(a) {
  const snaps = a.evidence.filter((e) => e.kind === "snapshot" || e.kind === "frame");
  const clips = a.evidence.filter((e) => e.kind === "clip");
  const charts = a.evidence.filter((e) => e.kind === "chart");
  const parts = [];
  if (snaps.length) parts.push(h("figure", h("figcaption", t("snapshot")),
    h("img#snapshot", { src: evidenceUrl(snaps[0].sha256), alt: t("snapshot") })));
  if (clips.length) parts.push(h("figure", h("figcaption", t("clip")),
    h("video#clip", { src: evidenceUrl(clips[0].sha256), controls: true, preload: "metadata", playsinline: true })));
  if (charts.length) parts.push(h("figure", h("figcaption", t("chart")), h("img", { src: evidenceUrl(charts[0].sha256), alt: t("chart") })));
  if (a.readings && a.readings.length > 1) {
    const canvas = h("canvas#sensor-chart", { width: 560, height: 200 });
    parts.push(h("figure", h("figcaption", `${t("chart")} · ${a.sensor_name || a.sensor_id}`), canvas));
    requestAnimationFrame(() => drawChart(canvas, a.readings.filter((r) => typeof r.value === "number"), a.readings[0].unit));
  }
  return parts.length ? h("div.evidence", parts) : h("p.muted", t("evidence_none"));
}

function actions(a, reload) {
  const comment = h("textarea#action-comment", { rows: 2, placeholder: t("comment") });
  const msg = h("p.msg#action-msg", "");
  const act = (kind) => async () => {
    if (!comment.value.trim() && kind !== "acknowledge") { msg.textContent = t("comment_needed"); return; }
    try {
      const r = await api(`/api/v1/console/alerts/${a.id}/${kind}`, { method: "POST", body: { comment: comment.value } });
      msg.textContent = r.patrol_finding_id ? `${t("patrol_created")} #${r.patrol_finding_id}` : t("saved");
      await reload(msg.textContent);
    } catch (ex) { msg.textContent = ex.status === 403 ? t("forbidden") : ex.detail || String(ex); }
  };
  const btns = [];
  if (a.status === "open" && ctx.can("acknowledge")) btns.push(h("button#btn-acknowledge", { onclick: act("acknowledge") }, t("acknowledge")));
  if ((a.status === "open" || a.status === "acknowledged") && ctx.can("decide")) {
    btns.push(h("button.primary#btn-confirm", { onclick: act("confirm") }, t("confirm")));
    btns.push(h("button.warn#btn-dismiss", { onclick: act("dismiss") }, t("dismiss")));
  }
  if (!btns.length) return msg;
  return h("div.actions", comment, h("div.btns", btns), msg);
}

export async function renderAlert(main, id, note = "") {
  const a = await api(`/api/v1/console/alerts/${id}`);
  const reload = (m) => renderAlert(main, id, m);
  const facts = [
    [t("hall"), hallName(a.hall_id)],
    [t("window"), a.window_name ? `${a.window_number} ${a.window_name}` : (a.window_id || "—")],
    [t("rule"), ruleName(a.rule, a.rule_name)],
    [t("severity"), t("sev_" + a.severity)],
    [t("status"), t("st_" + a.status) + (a.escalated ? ` · ${t("st_escalated")}` : "")],
    [t("time"), `${fmtTime(a.started_at)}${a.ended_at ? " – " + fmtTime(a.ended_at) : ""}`],
    [t("camera"), a.camera_id || "—"],
    [t("sensor"), a.sensor_name || a.sensor_id || "—"],
  ];
  if (a.duration_s != null) facts.push([t("duration"), `${Math.round(a.duration_s / 60)} min`]);
  if (a.patrol_finding_id) facts.push([t("findings"), `#${a.patrol_finding_id}`]);
  mount(main, 
    h("div.page-head", h("h2#alert-title", `#${a.id} ${ruleName(a.rule, a.rule_name)}`), h("a", { href: "#/feed" }, "← " + t("nav_feed"))),
    h("div.alert-layout",
      h("div.col", evidenceBlock(a), a.camera_id ? liveFigure(a.hall_id, a.camera_id) : null),
      h("div.col",
        h("dl.facts", facts.map(([k, v]) => [h("dt", k), h("dd", v)])),
        contextPanel(a.id, a.rule),
        Object.keys(a.details || {}).length ? h("details", h("summary", t("details")), h("pre", JSON.stringify(a.details, null, 2))) : null,
        actions(a, reload),
        note ? h("p.msg#action-done", note) : null,
        h("h4", t("timeline")),
        h("ol.timeline#timeline", a.timeline.map((e) => h("li", { class: `ev-${e.action}` },
          h("span.when", fmtTime(e.at)), " ", h("strong", t("st_" + e.to_status) || e.action),
          e.actor ? ` · ${e.actor}` : "", e.comment ? h("div.comment", e.comment) : null))))));
}
