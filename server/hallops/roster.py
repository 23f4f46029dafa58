"""Duty roster (值班表) and who sits at each window now.

The roster lists, per day, the duty officer (值班人员), the midday duty desk (午间值守, with the window kept open)
and the leader on duty (带班领导). It is entered one by one or imported from a CSV file with the header
``日期,类型,姓名,电话,窗口,备注`` (类型: 值班人员 | 午间值守 | 带班领导, or the English kind names).

Who sits at a window is *inferred*, never recognised: the edge reports only that a person is at the seat
(``staffed``), so the person is taken from the A/B roster (A/B岗) and the approved absences of
``server.people``: A when A has no approved absence now; the staff member covering the window (顶岗) when
there is a cover record; B when A is away; else "someone, not identified".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import Staff, Window
from server.hallops.models import DUTY_KINDS, DutyShift

KIND_ALIASES = {
    "值班人员": "duty_officer", "值班": "duty_officer", "值班员": "duty_officer", "duty_officer": "duty_officer",
    "午间值守": "midday_desk", "午间": "midday_desk", "中午值班": "midday_desk", "midday_desk": "midday_desk",
    "带班领导": "leader", "带班": "leader", "leader": "leader",
}
HEADER = {"日期": "day", "类型": "kind", "姓名": "name", "电话": "phone", "窗口": "window", "备注": "note",
          "day": "day", "kind": "kind", "name": "name", "phone": "phone", "window": "window", "note": "note"}
MAX_IMPORT_ROWS = 2000


class RosterError(ValueError):
    pass


@dataclass
class ShiftIn:
    day: dt.date
    kind: str
    name: str
    phone: str | None = None
    window_code: str | None = None
    note: str = ""
    line: int = 0


def parse_csv(text: str) -> tuple[list[ShiftIn], list[dict[str, Any]]]:
    """Rows of a roster CSV (UTF-8, BOM allowed) and the errors by line number (header = line 1)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        raise RosterError("empty file") from None
    cols = [HEADER.get(h.strip()) for h in header]
    missing = {"day", "kind", "name"} - set(cols)
    if missing:
        raise RosterError("header must name 日期, 类型 and 姓名 (optional: 电话, 窗口, 备注)")
    rows: list[ShiftIn] = []
    errors: list[dict[str, Any]] = []
    for line, raw in enumerate(reader, start=2):
        if not any(c.strip() for c in raw):
            continue
        if len(rows) + len(errors) >= MAX_IMPORT_ROWS:
            raise RosterError(f"more than {MAX_IMPORT_ROWS} rows")
        rec = {k: (raw[i].strip() if i < len(raw) else "") for i, k in enumerate(cols) if k}
        try:
            day = dt.date.fromisoformat(rec["day"].replace("/", "-"))
        except ValueError:
            errors.append({"line": line, "error": "bad_date", "value": rec["day"]})
            continue
        kind = KIND_ALIASES.get(rec["kind"])
        if kind is None:
            errors.append({"line": line, "error": "bad_kind", "value": rec["kind"]})
            continue
        if not rec["name"] or len(rec["name"]) > 100:
            errors.append({"line": line, "error": "bad_name", "value": rec["name"][:20]})
            continue
        rows.append(ShiftIn(day, kind, rec["name"], rec.get("phone") or None, rec.get("window") or None,
                            rec.get("note", "")[:500], line))
    return rows, errors


def shifts(session: Session, hall_id: str, start: dt.date, end: dt.date) -> list[DutyShift]:
    return list(session.scalars(select(DutyShift).where(
        DutyShift.hall_id == hall_id, DutyShift.day >= start, DutyShift.day <= end,
        DutyShift.cancelled_at.is_(None)).order_by(DutyShift.day, DutyShift.kind, DutyShift.id)))


def same_shift(session: Session, hall_id: str, s: ShiftIn) -> DutyShift | None:
    return session.scalars(select(DutyShift).where(
        DutyShift.hall_id == hall_id, DutyShift.day == s.day, DutyShift.kind == s.kind, DutyShift.name == s.name,
        DutyShift.cancelled_at.is_(None))).first()


@dataclass(frozen=True)
class Seat:
    """Who is taken to sit at a window now, and on what basis."""

    staff: str | None
    post: str | None   # A | B | cover | None
    basis: str         # roster_a | cover | a_away_b | a_away_unknown | nobody | closed | unknown


def infer_seat(state: str, a: dict[str, str] | None, b: dict[str, str] | None, away: set[str],
               cover: dict[str, str] | None) -> Seat:
    """The person at a window from its state, the A/B roster (staff codes), who is away and the cover record."""
    if state == "closed":
        return Seat(None, None, "closed")
    if state != "staffed":
        return Seat(None, None, "nobody" if state in ("empty", "off_duty") else "unknown")
    if cover is not None:
        return Seat(cover["name"], "cover", "cover")
    if a is not None and a["id"] not in away:
        return Seat(a["name"], "A", "roster_a")
    if b is not None and b["id"] not in away:
        return Seat(b["name"], "B", "a_away_b")
    return Seat(None, None, "a_away_unknown")


def check_kind(kind: str) -> str:
    if kind not in DUTY_KINDS:
        raise RosterError(f"kind must be one of {', '.join(DUTY_KINDS)}")
    return kind


def window_pk(session: Session, hall_id: str, code: str | None) -> int | None:
    if not code:
        return None
    w = session.scalars(select(Window).where(Window.hall_id == hall_id, Window.code == code,
                                             Window.active.is_(True))).first()
    if w is None:
        raise RosterError(f"window {code!r} not configured")
    return w.id


def staff_codes(session: Session, ids: set[int]) -> dict[int, Staff]:
    return {s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_(ids)))} if ids else {}
