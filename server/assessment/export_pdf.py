"""PDF export of a hall sheet with evidence thumbnails (reportlab).

Chinese text: a TrueType CJK font is embedded when one is available (``HALLWATCH_PDF_FONT`` = path to a
.ttf/.ttc, else WenQuanYi Zen Hei from the Debian package fonts-wqy-zenhei), so every viewer shows it;
otherwise the Adobe CID font STSong-Light is referenced (no file needed, but only viewers that carry
Adobe's CJK fonts, e.g. Acrobat, draw it)."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any, BinaryIO, Callable

from server.assessment.export import DETAIL_HEAD, SUMMARY_HEAD, Lang, detail_rows, header, summary_rows, t
from server.assessment.scheme import Scheme

log = logging.getLogger(__name__)
CID_FONT = "STSong-Light"
EMBED_NAME = "HallWatchCJK"
SYSTEM_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
THUMB_PX = 240
MAX_THUMBS = 60


def font_file() -> Path | None:
    configured = os.environ.get("HALLWATCH_PDF_FONT")
    candidates = [configured] if configured else list(SYSTEM_FONTS)
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def register_font() -> str:
    """Name of the font to use: an embedded TrueType CJK font if available, else the CID font."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    registered = pdfmetrics.getRegisteredFontNames()
    if EMBED_NAME in registered:
        return EMBED_NAME
    path = font_file()
    if path is not None:
        try:
            pdfmetrics.registerFont(TTFont(EMBED_NAME, str(path), subfontIndex=0))
            return EMBED_NAME
        except (TTFError, OSError) as exc:
            log.warning("assessment pdf: cannot embed %s (%s); using %s", path, exc, CID_FONT)
    if CID_FONT not in registered:
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    return CID_FONT


def thumbnail(open_file: Callable[[str], BinaryIO], sha: str) -> bytes | None:
    """A small JPEG of an image evidence file; None (logged) when it is missing or not an image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with open_file(sha) as fh, Image.open(fh) as im:
            im = im.convert("RGB")
            im.thumbnail((THUMB_PX, THUMB_PX))
            out = io.BytesIO()
            im.save(out, "JPEG", quality=80)
            return out.getvalue()
    except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
        log.warning("assessment pdf: no thumbnail for evidence %s: %s", sha[:12], exc)
        return None


def to_pdf(sheet: dict[str, Any], scheme: Scheme, open_file: Callable[[str], BinaryIO] | None,
           lang: Lang = "zh") -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = register_font()
    title = ParagraphStyle("t", fontName=font, fontSize=15, leading=20)
    h2 = ParagraphStyle("h", fontName=font, fontSize=11, leading=15, spaceBefore=6)
    body = ParagraphStyle("b", fontName=font, fontSize=7, leading=9, wordWrap="CJK")
    grid = TableStyle([("FONT", (0, 0), (-1, -1), font, 7), ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                       ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")), ("VALIGN", (0, 0), (-1, -1), "TOP")])

    def cells(rows: list[list[Any]]) -> list[list[Any]]:
        return [[Paragraph(str(c), body) for c in r] for r in rows]

    name = sheet["scheme"]["name"] if lang == "zh" else sheet["scheme"]["name_en"]
    story: list[Any] = [Paragraph(f"{sheet['hall']['name']} {sheet['period']} {name}", title), Spacer(1, 3 * mm)]
    story.append(Table(cells([[k, v] for k, v in header(sheet, lang)]), colWidths=[35 * mm, 200 * mm], style=grid))
    story.append(Paragraph(t("summary", lang), h2))
    story.append(Table(cells([[t(k, lang) for k in SUMMARY_HEAD]] + summary_rows(sheet, lang)), repeatRows=1,
                       style=grid))
    story.append(Paragraph(t("details", lang), h2))
    keep = [DETAIL_HEAD.index(k) for k in ("window", "time", "line_kind", "item", "person", "basis", "duration",
                                           "tier", "multiplier", "points", "note", "evidence")]
    rows = cells([[t(DETAIL_HEAD[i], lang) for i in keep]] + [[r[i] for i in keep]
                                                              for r in detail_rows(sheet, scheme, lang)])
    # each line's evidence under the line itself: a thumbnail of its first picture (the hashes stay below)
    line_shas = [ln["evidence"] for w in sheet["windows"] for ln in w["sheet"]["lines"]]
    kinds = {e["sha256"]: e for e in sheet.get("evidence") or []}
    for row, shas in zip(rows[1:], line_shas):
        pic = None
        for sha in shas if open_file is not None else []:
            e = kinds.get(sha, {})
            if e.get("kind") == "clip" or (e.get("content_type") or "image/").split("/")[0] != "image":
                continue
            data = thumbnail(open_file, sha)
            if data is not None:
                pic = Image(io.BytesIO(data))
                pic._restrictSize(30 * mm, 22 * mm)
                break
        if pic is not None:
            row[-1] = [pic, Paragraph(" ".join(h[:8] for h in shas), body)]
    widths = [26, 22, 11, 44, 16, 20, 12, 18, 11, 11, 44, 38]
    story.append(Table(rows, repeatRows=1, style=grid, colWidths=[w * mm for w in widths]))

    if open_file is not None and sheet["evidence"]:
        story.append(Paragraph(t("evidence", lang), h2))
        thumbs: list[Any] = []
        for e in sheet["evidence"]:
            if len(thumbs) >= MAX_THUMBS:
                break
            if e.get("kind") == "clip" or (e.get("content_type") or "image/").split("/")[0] != "image":
                continue
            data = thumbnail(open_file, e["sha256"])
            if data is None:
                continue
            img = Image(io.BytesIO(data))
            img._restrictSize(55 * mm, 40 * mm)
            thumbs.append([img, Paragraph(e["sha256"][:16], body)])
        row: list[Any] = []
        table_rows = []
        for cell in thumbs:
            row.append(cell)
            if len(row) == 4:
                table_rows.append(row)
                row = []
        if row:
            table_rows.append(row + [""] * (4 - len(row)))
        if table_rows:
            story.append(Table(table_rows, colWidths=[62 * mm] * 4))
        story.append(Paragraph(f"SHA-256 ({len(sheet['evidence'])}): " + " ".join(e["sha256"] for e in sheet["evidence"]),
                               body))
    # the paper form's signature lines: assessor, reviewer, and the assessed staff's acknowledgement
    story.append(Spacer(0, 10 * mm))
    blank = "_" * 18
    story.append(Table([[Paragraph(f"考核人 Assessor：{blank}", body), Paragraph(f"审核人 Reviewer：{blank}", body),
                         Paragraph(f"被考核人确认 Acknowledged by：{blank}", body)],
                        [Paragraph(f"日期 Date：{blank}", body)] * 3], colWidths=[92 * mm] * 3))
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), leftMargin=10 * mm, rightMargin=10 * mm,
                            topMargin=10 * mm, bottomMargin=10 * mm, title=f"{sheet['hall']['id']} {sheet['period']}")
    doc.build(story)
    return out.getvalue()
