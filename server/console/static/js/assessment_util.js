// Assessment helpers: periods in the hall's time zone, point formatting, names from the scheme in the UI language.
import { getLang, t } from "./i18n.js";

// year and month "now" in a time zone
export function nowIn(tz) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: tz || undefined, year: "numeric", month: "2-digit" })
    .formatToParts(new Date());
  return { y: Number(parts.find((p) => p.type === "year").value), m: Number(parts.find((p) => p.type === "month").value) };
}

export function quarterLabel(y, m) { return `${y}Q${Math.floor((m - 1) / 3) + 1}`; }
export function monthLabel(y, m) { return `${y}-${String(m).padStart(2, "0")}`; }
export function currentQuarter(tz) { const { y, m } = nowIn(tz); return quarterLabel(y, m); }
export function isQuarter(period) { return /^\d{4}Q[1-4]$/i.test(period); }

// quarters of this and the two previous years and the last 24 months, newest first
export function periodOptions(tz) {
  const { y, m } = nowIn(tz);
  const quarters = [];
  for (let yy = y, q = Math.floor((m - 1) / 3) + 1; yy >= y - 2; q--) {
    if (q === 0) { q = 4; yy--; if (yy < y - 2) break; }
    quarters.push(`${yy}Q${q}`);
  }
  const months = [];
  for (let i = 0, yy = y, mm = m; i < 24; i++) {
    months.push(monthLabel(yy, mm));
    if (--mm === 0) { mm = 12; yy--; }
  }
  return { quarters, months };
}

// UTC range that surely contains the period in any hall time zone (±1 day), for looking up findings
export function periodRangeUtc(period) {
  let y, m0, n;
  const q = period.match(/^(\d{4})Q([1-4])$/i);
  const mo = period.match(/^(\d{4})-(\d{2})$/);
  if (q) { y = Number(q[1]); m0 = (Number(q[2]) - 1) * 3; n = 3; } else if (mo) { y = Number(mo[1]); m0 = Number(mo[2]) - 1; n = 1; } else return null;
  const day = 86400000;
  return { since: new Date(Date.UTC(y, m0, 1) - day).toISOString(), until: new Date(Date.UTC(y, m0 + n, 1) + day).toISOString() };
}

// "2026-11-20T09:00" as wall time in tz → ISO instant with Z
export function zonedToIso(local, tz) {
  const [d, tm] = local.split("T");
  const [Y, M, D] = d.split("-").map(Number);
  const [hh, mm] = (tm || "00:00").split(":").map(Number);
  const guess = Date.UTC(Y, M - 1, D, hh, mm);
  const offset = (ms) => {
    const p = Object.fromEntries(new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23", year: "numeric",
      month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
      .formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
    return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second) - ms;
  };
  let utc = guess - offset(guess);
  utc = guess - offset(utc);
  return new Date(utc).toISOString();
}

export function pts(x) { return String(Number(Number(x).toFixed(2))); }
export function signed(x, kind) {
  if (kind === "bonus") return `+${pts(x)}`;
  return Number(x) === 0 ? "0" : `−${pts(x)}`;
}

export function fmtDuration(s) {
  if (s === null || s === undefined) return "—";
  const total = Math.round(Number(s));
  const m = Math.floor(total / 60), sec = total % 60;
  return getLang() === "zh" ? `${m}分${String(sec).padStart(2, "0")}秒` : `${m} min ${String(sec).padStart(2, "0")} s`;
}

export function shortSha(sha) { return sha ? sha.slice(0, 12) : "—"; }

// names from the scheme (served by /api/v1/assessment/scheme)
export function itemName(scheme, id) {
  const it = [...scheme.deductions, ...scheme.bonuses].find((x) => x.id === id);
  if (!it) return id;
  return getLang() === "zh" ? it.name : (it.name_en || it.name);
}
export function categoryName(scheme, id) {
  if (id === "bonus") return t("bonuses");
  const c = scheme.categories.find((x) => x.id === id);
  if (!c) return id;
  return getLang() === "zh" ? c.name : (c.name_en || c.name);
}
export function tierName(scheme, itemId, label) {
  if (!label) return "";
  if (getLang() === "zh") return label;
  const it = scheme.deductions.find((x) => x.id === itemId);
  const tier = it && (it.tiers || []).find((x) => x.label === label);
  return (tier && tier.label_en) || label;
}
export function basisName(basis) {
  if (!basis) return "—";
  if (basis.startsWith("entered:")) return `${t("basis_entered")} ${basis.slice(8)}`;
  const key = `basis_${basis}`;
  const s = t(key);
  return s === key ? basis : s;
}
export function noteText(note) {
  if (!note) return "";
  return note.split("; ").map((n) => ({ "duration unknown": t("note_duration_unknown"),
    "below the shortest tier": t("note_below_tier"), capped: t("note_capped") }[n] || n)).join("; ");
}
export function subjectName(entry, kind) {
  return kind === "windows" ? `${entry.number} ${entry.name}` : entry.name;
}
