"""Duty roster API (值班表: list, add, change, cancel, CSV import) and "who is on duty now" (today's duty officer,
midday desk, leader, and who sits at each window, inferred from the window state and the A/B roster)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from server.audit import audit, snapshot
from server.console.permissions import check_hall, require
from server.console.views import iso, roster_names, site_config
from server.db import Hall, User, Window, utcnow
from server.deps import SessionDep, ViewerUser, may_see_hall
from server.hallops.body import read_limited
from server.hallops.models import DutyShift
from server.hallops.roster import (
    RosterError,
    check_kind,
    infer_seat,
    parse_csv,
    same_shift,
    shifts,
    staff_codes,
    window_pk,
)
from server.people.models import Absence

router = APIRouter(prefix="/api/v1/console", tags=["console"])
MAX_CSV_BYTES = 1024 * 1024
FIELDS = ("day", "kind", "name", "phone", "window_id", "note", "user_id")


class ShiftBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: dt.date = Field(description="The day of the duty.")
    kind: Literal["duty_officer", "midday_desk", "leader"] = Field(description="值班人员 | 午间值守 | 带班领导.")
    name: str = Field(min_length=1, max_length=100, description="Name as on the roster.")
    phone: str | None = Field(default=None, max_length=32, description="Phone number on duty.")
    window_id: str | None = Field(default=None, max_length=64, description="midday_desk: the window kept open.")
    user_id: int | None = Field(default=None, description="The console login of that person, if any.")
    note: str = Field(default="", max_length=500)


class ShiftPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    window_id: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=500)


def _hall(session: Any, user: Any, hall_id: str) -> Hall:
    return check_hall(user, session.get(Hall, hall_id), hall_id)


def hall_tz(hall: Hall) -> ZoneInfo:
    try:
        return ZoneInfo(hall.timezone or "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


def _view(session: Any, s: DutyShift) -> dict[str, Any]:
    w = session.get(Window, s.window_id) if s.window_id else None
    u = session.get(User, s.user_id) if s.user_id else None
    return {"id": s.id, "day": s.day.isoformat(), "kind": s.kind, "name": s.name, "phone": s.phone,
            "window_id": w.code if w else None, "window_name": f"{w.number} {w.name}" if w else None,
            "user": (u.display_name or u.username) if u else None, "note": s.note,
            "created_by": s.created_by, "created_at": iso(s.created_at)}


def _shift(session: Any, user: Any, shift_id: int) -> DutyShift:
    s = session.get(DutyShift, shift_id)
    if s is None or s.cancelled_at is not None or not may_see_hall(user, s.hall_id):
        raise HTTPException(404, "roster entry not found")
    return s


def _user_ok(session: Any, hall_id: str, user_id: int | None) -> None:
    if user_id is None:
        return
    u = session.get(User, user_id)
    if u is None or not may_see_hall(u, hall_id):
        raise HTTPException(422, "that login does not exist or belongs to another hall")


@router.get("/halls/{hall_id}/duty-roster", summary="值班表: entries between two days")
def list_roster(hall_id: str, user: ViewerUser, session: SessionDep, start: dt.date | None = None,
                end: dt.date | None = None) -> list[dict[str, Any]]:
    hall = _hall(session, user, hall_id)
    today = utcnow().astimezone(hall_tz(hall)).date()
    start = start or today - dt.timedelta(days=today.weekday())
    end = end or start + dt.timedelta(days=13)
    if end < start or (end - start).days > 366:
        raise HTTPException(422, "end must be after start, at most a year later")
    return [_view(session, s) for s in shifts(session, hall_id, start, end)]


@router.post("/halls/{hall_id}/duty-roster", status_code=201, summary="Add a roster entry (supervisor)")
def add_shift(hall_id: str, body: ShiftBody, user: ViewerUser, session: SessionDep) -> dict[str, Any]:
    require(user, "decide")
    _hall(session, user, hall_id)
    _user_ok(session, hall_id, body.user_id)
    try:
        wpk = window_pk(session, hall_id, body.window_id)
    except RosterError as exc:
        raise HTTPException(422, str(exc)) from None
    s = DutyShift(hall_id=hall_id, day=body.day, kind=body.kind, name=body.name.strip(), phone=body.phone,
                  window_id=wpk, user_id=body.user_id, note=body.note, created_by=user.username)
    session.add(s)
    session.flush()
    audit(session, actor=user.username, user_id=user.id, action="roster.add", entity_type="duty_shift",
          entity_id=s.id, after=snapshot(s, FIELDS))
    return _view(session, s)


@router.patch("/duty-roster/{shift_id}", summary="Change a roster entry (supervisor)")
def patch_shift(shift_id: int, body: ShiftPatch, user: ViewerUser, session: SessionDep) -> dict[str, Any]:
    require(user, "decide")
    s = _shift(session, user, shift_id)
    before = snapshot(s, FIELDS)
    if body.window_id is not None:
        try:
            s.window_id = window_pk(session, s.hall_id, body.window_id or None)
        except RosterError as exc:
            raise HTTPException(422, str(exc)) from None
    for name in ("name", "phone", "note"):
        if getattr(body, name) is not None:
            setattr(s, name, getattr(body, name))
    audit(session, actor=user.username, user_id=user.id, action="roster.update", entity_type="duty_shift",
          entity_id=s.id, before=before, after=snapshot(s, FIELDS))
    return _view(session, s)


@router.delete("/duty-roster/{shift_id}", status_code=204, summary="Cancel a roster entry (kept, marked cancelled)")
def cancel_shift(shift_id: int, user: ViewerUser, session: SessionDep) -> None:
    require(user, "decide")
    s = _shift(session, user, shift_id)
    s.cancelled_at, s.cancelled_by = utcnow(), user.username
    audit(session, actor=user.username, user_id=user.id, action="roster.cancel", entity_type="duty_shift",
          entity_id=s.id, before=snapshot(s, FIELDS))


@router.post("/halls/{hall_id}/duty-roster/import", summary="Import a roster CSV (日期,类型,姓名,电话,窗口,备注)")
async def import_roster(hall_id: str, request: Request, user: ViewerUser, session: SessionDep,
                        dry_run: bool = Query(default=False)) -> dict[str, Any]:
    require(user, "decide")
    _hall(session, user, hall_id)
    data = await read_limited(request, MAX_CSV_BYTES, "roster file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise HTTPException(422, "file is neither UTF-8 nor GB18030 text") from None
    try:
        rows, errors = parse_csv(text)
    except RosterError as exc:
        raise HTTPException(422, str(exc)) from None
    created = unchanged = 0
    parsed = len(rows) + len(errors)
    for r in rows:
        try:
            wpk = window_pk(session, hall_id, r.window_code)
            check_kind(r.kind)
        except RosterError:
            errors.append({"line": r.line, "error": "bad_window", "value": r.window_code})
            continue
        if same_shift(session, hall_id, r) is not None:
            unchanged += 1
            continue
        created += 1
        if not dry_run:
            s = DutyShift(hall_id=hall_id, day=r.day, kind=r.kind, name=r.name, phone=r.phone, window_id=wpk,
                          note=r.note, created_by=user.username)
            session.add(s)
            session.flush()
    if not dry_run and created:
        audit(session, actor=user.username, user_id=user.id, action="roster.import", entity_type="hall",
              entity_id=hall_id, after={"created": created, "unchanged": unchanged, "errors": len(errors)})
    errors.sort(key=lambda e: e["line"])
    return {"rows": parsed, "created": created,
            "unchanged": unchanged, "errors": errors, "dry_run": dry_run}


def window_seats(session: Any, hall: Hall, now: dt.datetime, today: dt.date) -> list[dict[str, Any]]:
    """Every active window with its state, A/B roster, who is away and who is taken to sit there (inferred)."""
    roster = roster_names(session, hall.id, today)
    absences = list(session.scalars(select(Absence).where(
        Absence.hall_id == hall.id, Absence.status == "approved", Absence.starts_at <= now, Absence.ends_at > now)))
    staff = staff_codes(session, {a.staff_id for a in absences})
    away = {staff[a.staff_id].code for a in absences if a.kind != "cover" and a.staff_id in staff}
    cover_of = {a.window_id: {"id": staff[a.staff_id].code, "name": staff[a.staff_id].name}
                for a in absences if a.kind == "cover" and a.window_id and a.staff_id in staff}
    windows = []
    for w in hall.windows:
        if not w.active:
            continue
        state = "closed" if w.closed else w.live_state
        a, b = roster.get(w.id, {}).get("A"), roster.get(w.id, {}).get("B")
        seat = infer_seat(state, a, b, away, cover_of.get(w.id))
        windows.append({
            "id": w.code, "number": w.number, "name": w.name, "state": state, "since": iso(w.live_since),
            "persons": w.live_persons, "midday_duty": w.midday_duty,
            "staff_a": a["name"] if a else None, "staff_b": b["name"] if b else None,
            "a_away": bool(a and a["id"] in away), "b_away": bool(b and b["id"] in away),
            "seated": seat.staff, "post": seat.post, "basis": seat.basis, "inferred": True,
        })
    return windows


@router.get("/halls/{hall_id}/on-duty", summary="Who is on duty now: roster of today and who sits at each window")
def on_duty(hall_id: str, user: ViewerUser, session: SessionDep) -> dict[str, Any]:
    hall = _hall(session, user, hall_id)
    now = utcnow()
    tz = hall_tz(hall)
    today = now.astimezone(tz).date()
    cfg = site_config(hall)
    phase = cfg.schedule.phase(cfg.local(now)) if cfg is not None else None
    today_shifts = [_view(session, s) for s in shifts(session, hall_id, today, today)]
    windows = window_seats(session, hall, now, today)
    return {"hall_id": hall_id, "day": today.isoformat(), "phase": phase, "now": iso(now),
            "duty_officer": [s for s in today_shifts if s["kind"] == "duty_officer"],
            "midday_desk": [s for s in today_shifts if s["kind"] == "midday_desk"],
            "leader": [s for s in today_shifts if s["kind"] == "leader"],
            "midday_windows": [{"id": w.code, "number": w.number, "name": w.name}
                               for w in hall.windows if w.active and w.midday_duty],
            "windows": windows}
