"""Statistics API (统计报表) and the data of the printable 督查通报 (daily or weekly)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import func, select

from edge.contract import RULES
from server.assessment.routes import SchemeDep
from server.assessment.scheme import Scheme
from server.assessment.service import load_findings
from server.console.permissions import check_hall
from server.console.views import iso, user_name
from server.db import Alert, DutyCheck, Finding, Hall, PatrolFinding, SafetyCheck, Staff, utcnow
from server.deps import SessionDep, ViewerUser
from server.hallops.stats import Row, count, local_range

router = APIRouter(prefix="/api/v1/console", tags=["console"])
MAX_DAYS = 731


def _tz(hall: Hall) -> ZoneInfo:
    try:
        return ZoneInfo(hall.timezone or "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


def _rows(session: Any, hall: Hall, lo: dt.datetime, hi: dt.datetime,
          scheme: Scheme | None = None) -> tuple[list[Row], dict[str, Any]]:
    """The hall's alerts in [lo, hi); with a scheme, each is charged to the staff member the assessment charges
    (roster at the time, cover, absences, reassignments: ``server.assessment.service.load_findings``)."""
    windows = {w.id: w for w in hall.windows}
    staff = {s.id: s for s in session.scalars(select(Staff).where(Staff.hall_id == hall.id))}
    charged = {r.id: r.staff_id for r in load_findings(session, scheme, hall, lo, hi)} if scheme else None
    q = (select(Finding.finding_id, Finding.started_at, Finding.rule, Finding.severity, Alert.status,
                Finding.window_id, Finding.staff_id)
         .join(Alert, Alert.finding_id == Finding.id)
         .where(Alert.hall_id == hall.id, Finding.started_at >= lo, Finding.started_at < hi))
    rows = [Row(started, rule, sev, status, windows[wid].code if wid in windows else None,
                charged.get(fid) if charged is not None else (staff[sid].code if sid in staff else None))
            for fid, started, rule, sev, status, wid, sid in session.execute(q)]
    names = {
        "window": {w.code: f"{w.number} {w.name}" for w in windows.values()},
        "rule": dict(RULES),
        "staff": {s.code: s.name for s in staff.values()},
    }
    return rows, names


def _window_zh(hall: Hall, code: str | None) -> str | None:
    w = next((w for w in hall.windows if w.code == code), None)
    return f"{w.number}号窗口 {w.name}" if w else None


def _dates(start: dt.date | None, end: dt.date | None, today: dt.date, days: int) -> tuple[dt.date, dt.date]:
    end = end or today
    start = start or end - dt.timedelta(days=days - 1)
    if start > end:
        raise HTTPException(422, "start must not be after end")
    if (end - start).days >= MAX_DAYS:
        raise HTTPException(422, f"at most {MAX_DAYS} days at once")
    return start, end


@router.get("/halls/{hall_id}/stats", summary="Alert counts per day/week/month by window, rule or staff")
def stats(hall_id: str, user: ViewerUser, session: SessionDep, scheme: SchemeDep,
          period: Literal["day", "week", "month"] = "day", group: Literal["window", "rule", "staff"] = "rule",
          start: dt.date | None = None, end: dt.date | None = None) -> dict[str, Any]:
    hall = check_hall(user, session.get(Hall, hall_id), hall_id)
    tz = _tz(hall)
    start, end = _dates(start, end, utcnow().astimezone(tz).date(), {"day": 30, "week": 84, "month": 365}[period])
    rows, names = _rows(session, hall, *local_range(start, end, tz), scheme if group == "staff" else None)
    try:
        out = count(rows, start, end, period, group, tz)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    for s in out["series"]:
        s["name"] = names[group].get(s["key"]) if s["key"] is not None else None
    return out


@router.get("/halls/{hall_id}/report", summary="督查通报: the day's or week's figures, violations and checks")
def report(hall_id: str, user: ViewerUser, session: SessionDep, scheme: SchemeDep,
           kind: Literal["daily", "weekly"] = "daily", day: dt.date | None = Query(default=None)) -> dict[str, Any]:
    hall = check_hall(user, session.get(Hall, hall_id), hall_id)
    tz = _tz(hall)
    day = day or utcnow().astimezone(tz).date()
    start = day if kind == "daily" else day - dt.timedelta(days=day.weekday())
    end = day if kind == "daily" else start + dt.timedelta(days=6)
    lo, hi = local_range(start, end, tz)
    rows, names = _rows(session, hall, lo, hi)
    charged = {r.id: r.staff_id for r in load_findings(session, scheme, hall, lo, hi)}
    staff_names = {s.code: s.name for s in session.scalars(select(Staff).where(Staff.hall_id == hall.id))}
    by_rule = count(rows, start, end, "day", "rule", tz)
    by_window = count(rows, start, end, "day", "window", tz)
    confirmed = []
    q = (select(Alert, Finding).join(Finding, Alert.finding_id == Finding.id)
         .where(Alert.hall_id == hall.id, Finding.started_at >= lo, Finding.started_at < hi,
                Alert.status.in_(("confirmed", "closed")))
         .order_by(Finding.started_at).limit(500))
    windows = {w.id: w for w in hall.windows}
    for a, f in session.execute(q):
        w = windows.get(f.window_id)
        who = charged.get(f.finding_id)
        confirmed.append({"id": a.id, "at": iso(f.started_at), "rule": f.rule, "rule_name": RULES.get(f.rule, f.rule),
                          "window": f"{w.number}号窗口 {w.name}" if w else None, "staff": staff_names.get(who) if who else None,
                          "duration_s": f.duration_s})
    in_range = (DutyCheck.hall_id == hall.id, DutyCheck.requested_at >= lo, DutyCheck.requested_at < hi)
    duty_total = session.scalar(select(func.count()).select_from(DutyCheck).where(*in_range)) or 0
    duty_done = session.scalar(select(func.count()).select_from(DutyCheck)
                               .where(*in_range, DutyCheck.status == "complete")) or 0
    safety = [{"id": s.id, "at": iso(s.requested_at), "status": s.status, "signed_by": s.signed_name
               or user_name(session, s.signed_by)}
              for s in session.scalars(select(SafetyCheck).where(SafetyCheck.hall_id == hall.id,
                                                                 SafetyCheck.requested_at >= lo,
                                                                 SafetyCheck.requested_at < hi)
                                       .order_by(SafetyCheck.requested_at))]
    patrols = session.scalar(select(func.count()).select_from(PatrolFinding)
                             .where(PatrolFinding.hall_id == hall.id, PatrolFinding.created_at >= lo,
                                    PatrolFinding.created_at < hi))
    return {
        "hall": {"id": hall.id, "name": hall.name, "timezone": hall.timezone}, "kind": kind, "start": start.isoformat(), "end": end.isoformat(),
        "generated_at": iso(utcnow()), "generated_by": user.display_name or user.username,
        "total": by_rule["total"], "confirmed": by_rule["confirmed"], "dismissed": by_rule["dismissed"],
        "by_severity": by_rule["by_severity"],
        "by_rule": [{"rule": s["key"], "name": names["rule"].get(s["key"], s["key"]), "count": s["total"]}
                    for s in by_rule["series"]],
        "by_window": [{"window": s["key"], "name": _window_zh(hall, s["key"]),
                       "count": s["total"]} for s in by_window["series"]],
        "confirmed_list": confirmed,
        "duty_checks": {"count": duty_total, "complete": duty_done},
        "safety_checks": safety, "patrol_findings": patrols or 0,
    }
