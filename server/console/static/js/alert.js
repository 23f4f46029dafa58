// Alert detail: annotated snapshot, clip player, sensor chart, timeline; acknowledge / confirm / dismiss with a comment.
import { api, mount, evidenceUrl, h, errorText, showError, showOk } from "./api.js";
import { fmtTime, getLang, ruleName, t } from "./i18n.js";
import "./console_i18n.js";
import { ctx, hallName } from "./state.js";
import { contextPanel } from "./people_panels.js";
import { liveFigure } from "./ops_util.js";

const NUM = (x, digits = 1) => Number(x).toLocaleString(getLang() === "zh" ? "zh-CN" : "en-GB", { maximumFractionDigits: digits });
const STATE_KINDS = ["lock", "contact", "smoke", "occupancy", "availability", "state", "switch"];

// One chart per quantity (power in W, energy in kWh, …): every reading of the window drawn, the peak marked
// beside (not over) its point, and the limit the alert is about as a dashed red line.
function drawChart(canvas, points, unit, limit, fromZero = true) {
  const g = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, padL = 64, padB = 28, padT = 18, padR = 12;
  g.clearRect(0, 0, W, H);
  const xs = points.map((p) => new Date(p.at).getTime());
  const ys = points.map((p) => Number(p.value));
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const top = Math.max(...ys, limit ?? -Infinity);
  const lo = Math.min(...ys);
  const y0 = fromZero ? Math.min(0, lo) : lo - Math.max((top - lo) * 0.1, Math.abs(lo) * 0.001, 0.01);
  const y1 = top > y0 ? top + (top - y0) * 0.1 : y0 + 1;
  const X = (x) => padL + (x - x0) / (x1 - x0) * (W - padL - padR);
  const Y = (y) => H - padB - (y - y0) / (y1 - y0) * (H - padB - padT);
  g.strokeStyle = "#9aa5b1"; g.fillStyle = "#52606d"; g.font = "12px sans-serif";
  g.beginPath(); g.moveTo(padL, padT); g.lineTo(padL, H - padB); g.lineTo(W - padR, H - padB); g.stroke();
  g.textAlign = "right";
  const digits = fromZero ? 0 : 2;
  g.fillText(`${NUM(y1, digits)} ${unit}`, padL - 4, padT + 4);
  g.fillText(`${NUM(y0, digits)}`, padL - 4, H - padB);
  g.textAlign = "left";
  const hhmm = (ms) => new Date(ms).toLocaleTimeString(getLang() === "zh" ? "zh-CN" : "en-GB", { hour12: false });
  g.fillText(hhmm(x0), padL, H - 8);
  g.textAlign = "right"; g.fillText(hhmm(x1), W - padR, H - 8); g.textAlign = "left";
  if (limit != null) {
    g.save(); g.strokeStyle = "#c62828"; g.setLineDash([6, 4]); g.beginPath();
    g.moveTo(padL, Y(limit)); g.lineTo(W - padR, Y(limit)); g.stroke(); g.restore();
    g.fillStyle = "#c62828"; g.fillText(`${t("chart_limit")} ${NUM(limit, 0)} ${unit}`, padL + 6, Y(limit) - 5);
  }
  g.strokeStyle = "#1f6feb"; g.lineWidth = 2; g.beginPath();
  points.forEach((p, i) => { const x = X(xs[i]), y = Y(ys[i]); i ? g.lineTo(x, y) : g.moveTo(x, y); });
  g.stroke();
  const peak = ys.indexOf(Math.max(...ys));
  g.fillStyle = "#1f6feb"; g.beginPath(); g.arc(X(xs[peak]), Y(ys[peak]), 3, 0, 2 * Math.PI); g.fill();
  const label = `${t("chart_peak")} ${NUM(ys[peak], 1)} ${unit}`;
  const lx = Math.min(X(xs[peak]) + 6, W - padR - g.measureText(label).width);
  g.fillText(label, lx, Math.max(padT + 12, Y(ys[peak]) - 8));
}

// who acted on the alert: people by display name (from the server), machines in words
function actorName(actor) {
  if (actor.startsWith("edge:")) return t("actor_edge");
  if (actor.startsWith("system")) return t("actor_system");
  return actor;
}

function stateWord(kind, v) {
  const key = `state_${kind}_${String(v).toLowerCase()}`;
  const word = t(key);
  return word === key ? String(v) : word;
}

function readingsBlock(a) {
  const byKind = new Map();
  for (const r of a.readings || []) {
    if (!byKind.has(r.kind)) byKind.set(r.kind, []);
    byKind.get(r.kind).push(r);
  }
  const parts = [];
  const where = a.sensor_name || a.sensor_id;
  for (const [kind, rows] of byKind) {
    const numeric = !STATE_KINDS.includes(kind) && rows.every((r) => typeof r.value === "number");
    if (numeric && rows.length > 1) {
      const unit = rows.find((r) => r.unit)?.unit || "";
      const limit = kind === "power" ? (a.details?.watts_limit ?? null) : null;
      const canvas = h("canvas.sensor-chart", { id: `sensor-chart-${kind}`, width: 640, height: 220, dataset: { kind } });
      parts.push(h("figure", h("figcaption", `${t("chart")} · ${where} · ${t("qty_" + kind)}（${unit}）`), canvas));
      requestAnimationFrame(() => drawChart(canvas, rows, unit, limit, kind !== "energy"));
    } else if (!numeric) {
      parts.push(h("figure", h("figcaption", `${where} · ${t("qty_" + kind)}`),
        h("ol.states", { id: `sensor-states-${kind}` }, rows.map((r) => h("li", h("span.when", fmtTime(r.at)), " ",
          h("strong", stateWord(kind, r.value)))))));
    }
  }
  return parts;
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
  parts.push(...readingsBlock(a));
  return parts.length ? h("div.evidence", parts) : h("p.muted", t("evidence_none"));
}

// The rule's facts in words: known keys translated, numbers and times formatted; anything else stays in a
// collapsed technical block.
function detailValue(k, v) {
  if (v === null || v === undefined || v === "") return null;
  if (typeof v === "boolean") return t(v ? "yes" : "no");
  if (typeof v === "number") {
    if (k.endsWith("_ratio") || k.endsWith("cover") || k === "pixel_change" || k === "visible") return `${NUM(v * 100, 0)}%`;
    if (k.endsWith("_s") || k === "seconds") return `${NUM(v, 0)} ${t("unit_s")}`;
    if (k.includes("watts") || k === "peak") return `${NUM(v, 1)} W`;
    return NUM(v, 2);
  }
  if (typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v)) return fmtTime(v);
  if (typeof v === "string") return t("word_" + v) === "word_" + v ? v : t("word_" + v);
  return null;
}

function detailsBlock(a) {
  const d = a.details || {};
  const known = [], other = {};
  for (const [k, v] of Object.entries(d)) {
    const label = t("detail_" + k);
    const text = detailValue(k, v);
    if (label !== "detail_" + k && text !== null) known.push([label, text]);
    else if (text !== null || typeof v === "object") other[k] = v;
  }
  if (!known.length && !Object.keys(other).length) return null;
  return h("details#alert-details", { open: true }, h("summary", t("details")),
    known.length ? h("dl.detail-list", known.map(([k, v]) => [h("dt", k), h("dd", v)])) : null,
    Object.keys(other).length ? h("details.raw", h("summary", t("details_raw")), h("pre", JSON.stringify(other, null, 2))) : null);
}

function actions(a, reload) {
  const comment = h("textarea#action-comment", { rows: 2, placeholder: t("comment"), maxlength: 2000 });
  const msg = h("p.msg#action-msg", "");
  const act = (kind) => async () => {
    if (!comment.value.trim() && kind !== "acknowledge") { msg.classList.add("error"); msg.textContent = t("comment_needed"); return; }
    try {
      const r = await api(`/api/v1/console/alerts/${a.id}/${kind}`, { method: "POST", body: { comment: comment.value } });
      showOk(msg, r.patrol_finding_id ? `${t("patrol_created")} #${r.patrol_finding_id}` : t("saved"));
      await reload(msg.textContent, r.needs_amendment);
    } catch (ex) { showError(msg, ex); }
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

export async function renderAlert(main, id, note = "", amend = null) {
  const a = await api(`/api/v1/console/alerts/${id}`);
  const reload = (m, q) => renderAlert(main, id, m, q);
  const facts = [
    [t("hall"), hallName(a.hall_id)],
    [t("window"), a.window_name ? `${a.window_number} ${a.window_name}` : (a.window_id || "—")],
    [t("rule"), ruleName(a.rule, a.rule_name)],
    [t("severity"), t("sev_" + a.severity)],
    [t("status"), t("st_" + a.status) + (a.escalated ? ` · ${t("st_escalated")}` : "")],
    [t("time"), `${fmtTime(a.started_at)}${a.ended_at ? " – " + fmtTime(a.ended_at) : ""}`],
    [t("feed_location"), a.location || "—"],
    [t("camera"), a.camera_name || a.camera_id || "—"],
    [t("sensor"), a.sensor_name || a.sensor_id || "—"],
  ];
  if (a.duration_s != null) facts.push([t("duration"), `${NUM(a.duration_s / 60, 0)} ${t("unit_min")}`]);
  if (a.patrol_finding_id) facts.push([t("findings"), `#${a.patrol_finding_id}`]);
  mount(main, 
    h("div.page-head", h("h2#alert-title", `#${a.id} ${ruleName(a.rule, a.rule_name)}`), h("a", { href: "#/feed" }, "← " + t("nav_feed"))),
    h("div.alert-layout",
      h("div.col", evidenceBlock(a), a.camera_id ? liveFigure(a.hall_id, a.camera_id) : null),
      h("div.col",
        h("dl.facts", facts.map(([k, v]) => [h("dt", k), h("dd", v)])),
        contextPanel(a.id, a.rule),
        detailsBlock(a),
        actions(a, reload),
        note ? h("p.msg#action-done", note) : null,
        amend ? h("p.banner#needs-amendment", t("needs_amendment", { q: amend }),
          h("a", { href: `#/assessment?hall=${encodeURIComponent(a.hall_id)}&period=${amend}` }, ` ${t("nav_assessment")} →`)) : null,
        h("h4", t("timeline")),
        h("ol.timeline#timeline", a.timeline.map((e) => h("li", { class: `ev-${e.action}` },
          h("span.when", fmtTime(e.at)), " ", h("strong", t("st_" + e.to_status) || e.action),
          e.actor ? ` · ${actorName(e.actor)}` : "", e.comment ? h("div.comment", e.comment) : null))))));
}
