"""Exports of a hall sheet: XLSX (openpyxl) and CSV, Chinese by default, English on request.

Both read the hall-sheet JSON (live or signed), so an export of a signed quarter shows exactly what
was signed, with the sheet's SHA-256 and the SHA-256 of every evidence file it relies on.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Literal

from server.assessment.scheme import Scheme
from server.people.texts import BASIS_NAMES, approval_text

Lang = Literal["zh", "en"]

LABELS: dict[str, dict[str, str]] = {
    "summary": {"zh": "汇总", "en": "Summary"},
    "windows": {"zh": "窗口", "en": "Windows"},
    "staff": {"zh": "人员", "en": "Staff"},
    "details": {"zh": "扣分明细", "en": "Details"},
    "evidence": {"zh": "证据", "en": "Evidence"},
    "amendments": {"zh": "更正记录", "en": "Amendments"},
    "rank": {"zh": "排名", "en": "Rank"},
    "subject": {"zh": "考核对象", "en": "Subject"},
    "subject_kind": {"zh": "类别", "en": "Kind"},
    "window": {"zh": "窗口", "en": "Window"},
    "number": {"zh": "窗口号", "en": "No."},
    "name": {"zh": "名称", "en": "Name"},
    "department": {"zh": "部门", "en": "Department"},
    "base": {"zh": "基本分", "en": "Base"},
    "bonus": {"zh": "加分", "en": "Bonus"},
    "deduction": {"zh": "扣分", "en": "Deductions"},
    "score": {"zh": "实得分", "en": "Score"},
    "time": {"zh": "时间", "en": "Time"},
    "month": {"zh": "月份", "en": "Month"},
    "item": {"zh": "考核项目", "en": "Item"},
    "category": {"zh": "类别", "en": "Category"},
    "person": {"zh": "责任人", "en": "Person"},
    "basis": {"zh": "认定依据", "en": "Attribution"},
    "duration": {"zh": "时长(分钟)", "en": "Duration (min)"},
    "tier": {"zh": "档次", "en": "Tier"},
    "base_points": {"zh": "单次分值", "en": "Points each"},
    "multiplier": {"zh": "倍数", "en": "Multiplier"},
    "points": {"zh": "分值", "en": "Points"},
    "occurrence": {"zh": "当月第几次", "en": "Nth this month"},
    "finding": {"zh": "事件编号", "en": "Finding / entry"},
    "line_kind": {"zh": "类型", "en": "Type"},
    "note": {"zh": "备注", "en": "Note"},
    "sha256": {"zh": "SHA-256", "en": "SHA-256"},
    "kind": {"zh": "类型", "en": "Kind"},
    "size": {"zh": "大小(字节)", "en": "Size (bytes)"},
    "hall": {"zh": "大厅", "en": "Hall"},
    "period": {"zh": "考核期", "en": "Period"},
    "scheme": {"zh": "考核细则", "en": "Scheme"},
    "status": {"zh": "状态", "en": "Status"},
    "signed": {"zh": "已签署", "en": "Signed off"},
    "live": {"zh": "未签署（实时计算）", "en": "Not signed (live)"},
    "provisional": {"zh": "（期末前为暂定分）", "en": " (provisional until the period ends)"},
    "sheet_sha": {"zh": "考核表哈希", "en": "Sheet SHA-256"},
    "seq": {"zh": "序号", "en": "No."},
    "by": {"zh": "操作人", "en": "By"},
    "reason": {"zh": "原因", "en": "Reason"},
    "before": {"zh": "更正前", "en": "Before"},
    "after": {"zh": "更正后", "en": "After"},
    "deduction_kind": {"zh": "扣分", "en": "deduction"},
    "bonus_kind": {"zh": "加分", "en": "bonus"},
    "not_deducted_kind": {"zh": "不扣分", "en": "not deducted"},
    "window_kind": {"zh": "窗口", "en": "window"},
    "staff_kind": {"zh": "人员", "en": "staff"},
}
# notes the scoring writes (English ids, joined by "; "), as the console shows them
NOTES = {
    "duration unknown": {"zh": "时长未知", "en": "duration unknown"},
    "below the shortest tier": {"zh": "未达最低档时长", "en": "below the shortest tier"},
    "capped": {"zh": "已达上限", "en": "capped"},
    "approved": {"zh": "已批准", "en": "approved"},
}
EVIDENCE_KINDS = {
    "snapshot": {"zh": "标注截图", "en": "snapshot"}, "frame": {"zh": "原始画面", "en": "frame"},
    "clip": {"zh": "视频片段", "en": "clip"}, "chart": {"zh": "读数曲线", "en": "chart"},
}
BASIS = {
    "roster_a": {"zh": "排班A岗", "en": "roster A post"}, "roster_b": {"zh": "排班B岗", "en": "roster B post"},
    "substitute": {"zh": "排班替岗", "en": "roster substitute"}, "edge": {"zh": "现场识别", "en": "edge"},
    "reassigned": {"zh": "主管改派", "en": "reassigned"}, "window": {"zh": "计入窗口", "en": "window"},
    "none": {"zh": "无法确定", "en": "unknown"},
    **BASIS_NAMES,
}


def t(key: str, lang: Lang) -> str:
    return LABELS[key][lang]


def item_name(scheme: Scheme, item_id: str, lang: Lang) -> str:
    item = scheme.deduction(item_id) or scheme.bonus(item_id)
    if item is None:
        return item_id
    return item.name if lang == "zh" else item.name_en


def category_name(scheme: Scheme, category_id: str, lang: Lang) -> str:
    if category_id == "bonus":
        return t("bonus", lang)
    c = next((c for c in scheme.categories if c.id == category_id), None)
    return category_id if c is None else (c.name if lang == "zh" else c.name_en)


def basis_name(basis: str, lang: Lang) -> str:
    if basis.startswith("entered:"):
        return ("主管录入:" if lang == "zh" else "entered by ") + basis.split(":", 1)[1]
    return BASIS.get(basis, {}).get(lang, basis)


def note_text(note: str, lang: Lang) -> str:
    return "; ".join(NOTES.get(n, {}).get(lang, n) for n in note.split("; ")) if note else ""


def tier_label(scheme: Scheme, item_id: str, label: str | None, lang: Lang) -> str:
    """The tier's label in the language (a scheme's English label where it has one)."""
    if not label:
        return ""
    item = scheme.deduction(item_id)
    tier = next((x for x in item.tiers if x.label == label), None) if item is not None else None
    return (tier.label_en or label) if (tier is not None and lang == "en") else label


def evidence_kind(kind: str, lang: Lang) -> str:
    return EVIDENCE_KINDS.get(kind, {}).get(lang, kind)


def _names(sheet: dict[str, Any]) -> dict[str, str]:
    names = {w["id"]: f"{w['number']}号 {w['name']}" for w in sheet["windows"]}
    names.update({s["id"]: s["name"] for s in sheet["staff"]})
    return names


def summary_rows(sheet: dict[str, Any], lang: Lang) -> list[list[Any]]:
    """Windows then staff ranked: rank, kind, id, name, base, bonus, deductions, score."""
    rows = []
    for kind, key in (("window", "windows"), ("staff", "staff")):
        by_id = {e["id"]: e for e in sheet[key]}
        for r in sheet["ranking"][key]:
            e = by_id[r["subject_id"]]
            name = f"{e['number']}号 {e['name']}" if kind == "window" else e["name"]
            rows.append([r["rank"], t(f"{kind}_kind", lang), e["id"], name, e["sheet"]["base_points"],
                         e["sheet"]["bonus_total"], e["sheet"]["deduction_total"], e["sheet"]["score"]])
    return rows


SUMMARY_HEAD = ["rank", "subject_kind", "subject", "name", "base", "bonus", "deduction", "score"]
DETAIL_HEAD = ["window", "time", "month", "line_kind", "category", "item", "person", "basis", "duration", "tier",
               "base_points", "multiplier", "occurrence", "points", "finding", "evidence", "note"]


def detail_rows(sheet: dict[str, Any], scheme: Scheme, lang: Lang) -> list[list[Any]]:
    """Every line of every window sheet (a window sheet holds all of its staff's lines too)."""
    names = _names(sheet)
    rows = []
    for w in sheet["windows"]:
        for ln in w["sheet"]["lines"]:
            sign = -1 if ln["kind"] == "deduction" else 1
            rows.append([
                names.get(w["id"], w["id"]), ln["at"][:16].replace("T", " "), ln["month"], t(f"{ln['kind']}_kind", lang),
                category_name(scheme, ln["category_id"], lang), item_name(scheme, ln["item_id"], lang),
                names.get(ln["staff_id"] or "", ln["staff_id"] or ""), basis_name(ln["attribution"], lang),
                round(ln["duration_s"] / 60, 1) if ln["duration_s"] is not None else "",
                tier_label(scheme, ln["item_id"], ln["tier"], lang),
                ln["base_points"], ln["multiplier"], ln["occurrence"] or "", sign * ln["points"], ln["ref_id"],
                " ".join(h[:12] for h in ln["evidence"]),
                approval_text(ln.get("approval"), lang) or note_text(ln["note"], lang)])
    return rows


def header(sheet: dict[str, Any], lang: Lang) -> list[tuple[str, str]]:
    so = sheet.get("signoff")
    who = so.get("signed_name", so["signed_by"]) if so else ""
    status = (t("signed", lang) + f" {who} {so.get('signed_local', so['signed_at'][:16])}" if so else t("live", lang))
    if sheet.get("provisional") and not so:
        status += t("provisional", lang)
    out = [(t("hall", lang), sheet["hall"]["name"]), (t("period", lang), sheet["period"]),
           (t("scheme", lang), sheet["scheme"]["name"] if lang == "zh" else sheet["scheme"]["name_en"]),
           (t("status", lang), status)]
    if so:
        out.append((t("sheet_sha", lang), so["effective_sha256"]))
    return out


def to_csv(sheet: dict[str, Any], scheme: Scheme, lang: Lang = "zh") -> bytes:
    """The detail lines as CSV (UTF-8 with BOM so spreadsheet programs read the Chinese)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([t(k, lang) for k in DETAIL_HEAD])
    w.writerows(detail_rows(sheet, scheme, lang))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(sheet: dict[str, Any], scheme: Scheme, lang: Lang = "zh") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = t("summary", lang)
    for k, v in header(sheet, lang):
        ws.append([k, v])
    ws.append([])
    ws.append([t(k, lang) for k in SUMMARY_HEAD])
    ws.cell(ws.max_row, 1).font = Font(bold=True)
    for row in summary_rows(sheet, lang):
        ws.append(row)
    ws.column_dimensions["D"].width = 24

    ws = wb.create_sheet(t("details", lang))
    ws.append([t(k, lang) for k in DETAIL_HEAD])
    for row in detail_rows(sheet, scheme, lang):
        ws.append(row)
    for col, width in (("A", 18), ("B", 17), ("F", 30)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"

    ws = wb.create_sheet(t("evidence", lang))
    ws.append([t("sha256", lang), t("kind", lang), t("size", lang)])
    for e in sheet["evidence"]:
        ws.append([e["sha256"], evidence_kind(e["kind"], lang), e["size"]])
    ws.column_dimensions["A"].width = 68

    so = sheet.get("signoff")
    if so and so["amendments"]:
        ws = wb.create_sheet(t("amendments", lang))
        ws.append([t(k, lang) for k in ("seq", "time", "by", "reason", "subject", "before", "after")])
        for a in so["amendments"]:
            for c in a["changes"]:
                ws.append([a["seq"], a["at"][:19], a["by"], a["reason"], c["subject_id"], c["score_before"],
                           c["score_after"]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
