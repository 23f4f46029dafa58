// Helpers of the people pages: hall time zone, local <-> ISO times, kind and status names, the approval line.
import { h } from "./api.js";
import { getLang, t } from "./i18n.js";
import { ctx } from "./state.js";
import { zonedToIso } from "./assessment_util.js";

export function hallTz(hallId) {
  const hall = ctx.halls.find((x) => x.id === hallId);
  return (hall && hall.timezone) || "Asia/Shanghai";
}

// ISO instant → "YYYY-MM-DDTHH:MM" wall time in tz (for <input type="datetime-local">)
export function localInput(iso, tz) {
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-CA", { timeZone: tz, hourCycle: "h23", year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }).formatToParts(new Date(iso))
    .map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

export function toIso(local, tz) { return zonedToIso(local, tz); }

export function todayIn(tz) { return localInput(new Date().toISOString(), tz).slice(0, 10); }

export function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

export function kindName(kind) { return t(`kind_${kind}`); }

// "2026/11/23 08:30–12:00", "2026/11/24 – 2026/11/25 全天" (an end at midnight is the day before's end)
export function fmtRange(start, end) {
  if (!start || !end) return "—";
  const loc = getLang() === "zh" ? "zh-CN" : "en-GB";
  const a = new Date(start), b = new Date(end);
  const day = (d) => d.toLocaleDateString(loc);
  const hm = (d) => d.toLocaleTimeString(loc, { hour: "2-digit", minute: "2-digit", hour12: false });
  if (hm(a) === "00:00" && hm(b) === "00:00") {
    const last = new Date(b.getTime() - 86400000);
    return `${day(a)}${day(last) === day(a) ? "" : ` – ${day(last)}`} ${t("all_day")}`;
  }
  return day(a) === day(b) ? `${day(a)} ${hm(a)}–${hm(b)}` : `${day(a)} ${hm(a)} – ${day(b)} ${hm(b)}`;
}

export function num(n) {
  return n === null || n === undefined ? "—" : Number(n).toLocaleString(getLang() === "zh" ? "zh-CN" : "en-GB");
}

// one line per approval item: "请假 #7 王建国 11-23 08:30 – 12:30（批准：李科长）"
export function approvalItems(approval, names = {}) {
  if (!approval) return [];
  return (approval.items || []).map((it) => {
    const who = it.staff_id ? (names[it.staff_id] || it.staff_id) : (it.window_id || "");
    const reason = it.reason ? ` · ${it.reason}` : "";
    return `${kindName(it.kind)} #${it.id} ${who} ${fmtRange(it.from, it.to)}${reason} · ${t("approved_by", { who: it.approver || "—" })}`;
  });
}

export function approvalNote(approval, names = {}) {
  if (!approval) return null;
  const lead = approval.effect === "suppressed" ? t("approval_suppressed") : t("approval_reattributed");
  return h("div.approval", { dataset: { effect: approval.effect } },
    h("strong", lead), approvalItems(approval, names).map((x) => h("div", x)));
}

export function statusBadge(prefix, status) { return h(`span.badge.${prefix}-${status}`, t(`${prefix}_${status}`)); }

export function errorText(ex) { return ex.status === 403 ? t("forbidden") : (ex.detail || ex.message || String(ex)); }
