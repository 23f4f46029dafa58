"""Printable PDF reports (reportlab, CJK through the built-in STSong-Light CID font: no font files).

``safety_check_pdf`` renders a 下班安全检查 record, ``duty_check_pdf`` a 一键查岗 sheet with each
window's picture. Both take plain dicts (the API's JSON views), so they are easy to test.
"""

from __future__ import annotations

import io
from typing import Any, Callable
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from server.console.safety import ITEMS

FONT = "STSong-Light"
_registered = False


def _font() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


def _styles() -> dict[str, ParagraphStyle]:
    f = _font()
    return {
        "title": ParagraphStyle("title", fontName=f, fontSize=16, leading=22, spaceAfter=6),
        "body": ParagraphStyle("body", fontName=f, fontSize=9.5, leading=13),
        "small": ParagraphStyle("small", fontName=f, fontSize=8, leading=10, textColor=colors.grey),
    }


def local_time(iso: str | None, tz: str) -> str:
    """An ISO time from the API as hall-local 'YYYY-MM-DD HH:MM:SS' (the paper form's format)."""
    if not iso:
        return ""
    import datetime as dt
    from zoneinfo import ZoneInfo

    try:
        return dt.datetime.fromisoformat(iso).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


class UnprintableText(ValueError):
    """Text with characters the PDF font cannot show: the record is refused rather than printed wrongly."""

    def __init__(self, chars: list[str]) -> None:
        super().__init__("text contains characters the PDF font cannot print: " + " ".join(chars))
        self.chars = chars


def unprintable(text: str | None) -> list[str]:
    """Characters of ``text`` that STSong-Light (Adobe-GB1 through the UCS-2 CMap) cannot print: everything
    beyond the Basic Multilingual Plane (emoji, rare CJK extensions; the font would show a different character),
    emoji variation selectors and joiners. Distinct, in order of appearance."""
    seen: list[str] = []
    for ch in text or "":
        cp = ord(ch)
        if (cp > 0xFFFF or 0xFE00 <= cp <= 0xFE0F or cp in (0x200D, 0x20E3)) and ch not in seen:
            seen.append(ch)
    return seen


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    text = "" if text is None else str(text)
    bad = unprintable(text)
    if bad:
        raise UnprintableText(bad)
    return Paragraph(escape(text), style)


RESULT_ZH = {True: "合格 PASS", False: "不合格 FAIL", None: "未能确定 N/A"}
OUTCOME_ZH = {"passed": "全部合格", "failed": "存在不合格项", "incomplete": "部分项目未能确定", "pending": "等待边缘端回复"}
STATE_ZH = {"staffed": "在岗", "empty": "空岗", "closed": "暂停服务", "off_duty": "非工作时间", "unknown": "未知",
            "uncertain": "待确认"}


def _grid(rows: list[list[Any]], widths: list[float], fails: list[int] | None = None) -> Table:
    t = Table(rows, colWidths=widths, repeatRows=1)
    style = [
        ("FONTNAME", (0, 0), (-1, -1), _font()),
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    for r in fails or []:
        style.append(("TEXTCOLOR", (2, r), (2, r), colors.HexColor("#b00020")))
    t.setStyle(TableStyle(style))
    return t


def safety_check_pdf(check: dict[str, Any], hall_name: str, tz: str = "Asia/Shanghai") -> bytes:
    """``check``: id, hall_id, trigger, status/outcome, started_at, items [..], signed_by, signed_at, sign_comment."""
    st = _styles()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title="下班安全检查记录", author="HallWatch")
    outcome = check.get("outcome") or "pending"
    flow: list[Any] = [
        _p(f"{hall_name} 下班安全检查记录", st["title"]),
        _p(f"After-hours safety check · 编号 No. {check.get('id')}", st["small"]),
        Spacer(0, 4 * mm),
        _p(f"检查时间 Time: {local_time(check.get('started_at'), tz)}    触发方式 Trigger: "
           f"{'自动 automatic' if check.get('trigger') == 'auto' else '手动 on demand'}", st["body"]),
        _p(f"结论 Outcome: {OUTCOME_ZH.get(outcome, outcome)} ({outcome})", st["body"]),
        Spacer(0, 4 * mm),
    ]
    rows: list[list[Any]] = [[_p("检查项 Item", st["body"]), _p("对象 Subject", st["body"]),
                              _p("结果 Result", st["body"]), _p("说明/读数 Detail", st["body"])]]
    fails = []
    for i, it in enumerate(check.get("items", []), start=1):
        zh, en = ITEMS.get(it["item"], (it["item"], it["item"]))
        detail = it.get("detail_zh") or it.get("detail") or ""
        shas = [e["sha256"][:12] for e in it.get("evidence") or [] if isinstance(e, dict) and e.get("sha256")]
        if shas:
            detail += f"（证据 evidence {', '.join(shas)}）"
        if it.get("alert_id"):
            detail += f"（告警 alert #{it['alert_id']}）"
        rows.append([_p(f"{zh} / {en}", st["body"]), _p(it.get("subject_name") or it["subject"], st["body"]),
                     _p(RESULT_ZH.get(it.get("passed")), st["body"]), _p(detail, st["body"])])
        if it.get("passed") is False:
            fails.append(i)
    flow.append(_grid(rows, [42 * mm, 48 * mm, 28 * mm, 62 * mm], fails))
    flow.append(Spacer(0, 8 * mm))
    if check.get("signed_by"):
        flow.append(_p(f"值班人员签字 Signed off by: {check['signed_by']}    时间 at: "
                       f"{local_time(check.get('signed_at'), tz)}",
                       st["body"]))
        if check.get("sign_comment"):
            flow.append(_p(f"备注 Comment: {check['sign_comment']}", st["body"]))
    else:
        flow.append(_p("值班人员签字 Signed off by: ________________    时间 at: ________________", st["body"]))
    flow.append(Spacer(0, 4 * mm))
    flow.append(_p("本记录由 HallWatch 生成 · generated by HallWatch", st["small"]))
    doc.build(flow)
    return buf.getvalue()


def _shrink(data: bytes, max_side: int = 720) -> bytes | None:
    """A print-sized JPEG of a picture (camera frames can be 2560×1936), or None when it does not decode."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(io.BytesIO(data)) as im:
            im = im.convert("RGB")
            im.thumbnail((max_side, max_side))
            out = io.BytesIO()
            im.save(out, "JPEG", quality=80)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def duty_check_pdf(check: dict[str, Any], hall_name: str,
                   picture: Callable[[str], bytes | None] | None = None, tz: str = "Asia/Shanghai") -> bytes:
    """``check``: id, requested_at, requested_by, windows [{window_id, name, number, state, persons, staff_a, staff_b,
    snapshot_sha256}]. ``picture(sha256)`` returns JPEG bytes for a window's snapshot when available."""
    st = _styles()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title="一键查岗记录", author="HallWatch")
    flow: list[Any] = [
        _p(f"{hall_name} 一键查岗记录", st["title"]),
        _p(f"Duty check · 编号 No. {check.get('id')} · 发起人 by {check.get('requested_by', '')} · "
           f"{local_time(check.get('requested_at'), tz)}", st["small"]),
        Spacer(0, 4 * mm),
    ]
    rows: list[list[Any]] = [[_p("窗口 Window", st["body"]), _p("A/B 岗", st["body"]), _p("状态 State", st["body"]),
                              _p("画面 Picture", st["body"])]]
    fails = []
    for i, w in enumerate(check.get("windows", []), start=1):
        img: Any = _p("—", st["body"])
        data = picture(w["snapshot_sha256"]) if picture and w.get("snapshot_sha256") else None
        if data:
            small = _shrink(data)
            img = (Image(io.BytesIO(small), width=60 * mm, height=34 * mm, kind="proportional") if small
                   else _p("(picture unreadable)", st["small"]))
        state = w.get("state") or "unknown"
        rows.append([_p(f"{w.get('number', '')} {w.get('name', w['window_id'])}", st["body"]),
                     _p(f"A {w.get('staff_a') or '—'} / B {w.get('staff_b') or '—'}", st["body"]),
                     _p(f"{STATE_ZH.get(state, state)} ({state})", st["body"]), img])
        if state == "empty":
            fails.append(i)
    flow.append(_grid(rows, [40 * mm, 42 * mm, 32 * mm, 66 * mm], fails))
    doc.build(flow)
    return buf.getvalue()
