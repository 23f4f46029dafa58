"""Approved absence (请假 / 公出 / 培训 / 顶岗) and window pauses (暂停服务).

- An absence is a record with a person, a time range [start, end) and an approver. It does not hide any
  finding: it changes who is judged. A window whose A post is on approved absence is judged on its B post
  (``server.assessment.attribution.resolve``, basis ``stand_in``), a 顶岗 cover record names the person judged
  (basis ``cover``); the sheet shows the approval next to the line.
- A pause closes a window for a time range with a reason (the supervisor is the approver). The edges get the
  hall's pause plan as a retained ``command.window_pauses`` (their window_unstaffed rule treats the window as
  closed), and findings of presence rules that arrive anyway for a paused window are suppressed here: their
  alert is dismissed through the normal lifecycle by ``system:approval`` with the pause as the comment, and the
  sheet lists them as not deducted with the approval as the reason.

Every create, update and cancel is audited.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from server.alerts import AlertTransitionError, transition
from server.assessment.attribution import AbsenceEntry, Attribution
from server.audit import audit, snapshot
from server.db import Alert, Finding, Hall, Staff, User, Window, utcnow
from server.people.models import ABSENCE_KINDS, Absence, WindowPause

log = logging.getLogger(__name__)
PAUSE_SUPPRESSES = frozenset({"window_unstaffed", "late_arrival", "early_leave", "chatting", "eating"})
"""Rules a pause suppresses: presence, and the counter-service rules the edge also silences on a paused window
(chatting, eating); smoking, sleeping and phone use still apply at a paused window."""
APPROVAL_ACTOR = "system:approval"
MAX_SPAN = dt.timedelta(days=366)
_ABSENCE_FIELDS = ("staff_id", "kind", "window_id", "covers_staff_id", "starts_at", "ends_at", "approver", "reason",
                   "status")
_PAUSE_FIELDS = ("window_id", "starts_at", "ends_at", "reason", "status")


class ApprovalError(ValueError):
    """A request that cannot be recorded (unknown staff or window, bad time range …)."""


def iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t else None


def _hall(session: Session, hall_id: str) -> Hall:
    hall = session.get(Hall, hall_id)
    if hall is None:
        raise ApprovalError(f"unknown hall {hall_id!r}")
    return hall


def staff_by_code(session: Session, hall_id: str, code: str) -> Staff:
    row = session.scalars(select(Staff).where(Staff.hall_id == hall_id, Staff.code == code)).first()
    if row is None:
        raise ApprovalError(f"unknown staff {code!r} in hall {hall_id!r}")
    return row


def window_by_code(session: Session, hall_id: str, code: str) -> Window:
    row = session.scalars(select(Window).where(Window.hall_id == hall_id, Window.code == code)).first()
    if row is None:
        raise ApprovalError(f"unknown window {code!r} in hall {hall_id!r}")
    return row


def check_range(start: dt.datetime, end: dt.datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ApprovalError("start and end need a UTC offset")
    if end <= start:
        raise ApprovalError(f"end {end.isoformat()} is not after start {start.isoformat()}")
    if end - start > MAX_SPAN:
        raise ApprovalError("a record spans at most 366 days")


# --------------------------------------------------------------------------- absences


@dataclass(frozen=True)
class AbsenceIn:
    """One absence as entered in the console, imported from a file or pushed by the attendance system."""

    staff_id: str
    kind: str
    start: dt.datetime
    end: dt.datetime
    approver: str
    reason: str = ""
    window_id: str | None = None
    covers_staff_id: str | None = None
    external_id: str | None = None
    cancelled: bool = False


def _absence_values(session: Session, hall_id: str, a: AbsenceIn) -> dict[str, Any]:
    if a.kind not in ABSENCE_KINDS:
        raise ApprovalError(f"unknown kind {a.kind!r}; one of {', '.join(ABSENCE_KINDS)}")
    check_range(a.start, a.end)
    if not a.approver.strip():
        raise ApprovalError("an absence needs its approver")
    staff = staff_by_code(session, hall_id, a.staff_id)
    window = window_by_code(session, hall_id, a.window_id) if a.window_id else None
    if a.kind == "cover" and window is None:
        raise ApprovalError("a 顶岗 cover record needs the window covered")
    covers = staff_by_code(session, hall_id, a.covers_staff_id) if a.covers_staff_id else None
    if covers is not None and covers.id == staff.id:
        raise ApprovalError("a person cannot cover their own post")
    return {"staff_id": staff.id, "kind": a.kind, "window_id": window.id if window else None,
            "covers_staff_id": covers.id if covers else None, "starts_at": a.start, "ends_at": a.end,
            "approver": a.approver.strip()[:100], "reason": a.reason.strip()}


def record_absence(session: Session, hall_id: str, a: AbsenceIn, *, source: str, actor: str,
                   user_id: int | None = None) -> tuple[Absence, str]:
    """Create, update (same ``external_id``) or cancel (``cancelled``) an absence; returns (row, what) with what
    in created | updated | unchanged | cancelled. Raises ApprovalError for bad input."""
    _hall(session, hall_id)
    existing = None
    if a.external_id:
        existing = session.scalars(select(Absence).where(Absence.hall_id == hall_id,
                                                         Absence.external_id == a.external_id)).first()
    if a.cancelled:
        if existing is None:
            raise ApprovalError(f"no absence {a.external_id!r} to cancel")
        return existing, ("cancelled" if cancel_absence(session, existing, actor=actor, user_id=user_id)
                          else "unchanged")
    values = _absence_values(session, hall_id, a)
    if existing is not None:
        before = snapshot(existing, _ABSENCE_FIELDS)
        values["status"] = "approved"
        if all(getattr(existing, k) == v for k, v in values.items()):
            return existing, "unchanged"
        for k, v in values.items():
            setattr(existing, k, v)
        session.flush()
        audit(session, actor=actor, user_id=user_id, action="absence.update", entity_type="absence",
              entity_id=existing.id, before=before, after=snapshot(existing, _ABSENCE_FIELDS))
        return existing, "updated"
    row = Absence(hall_id=hall_id, source=source, external_id=a.external_id, created_by=actor, **values)
    session.add(row)
    session.flush()
    audit(session, actor=actor, user_id=user_id, action="absence.create", entity_type="absence", entity_id=row.id,
          after={**snapshot(row, _ABSENCE_FIELDS), "source": source, "external_id": a.external_id})
    return row, "created"


def cancel_absence(session: Session, row: Absence, *, actor: str, user_id: int | None = None) -> bool:
    """销假/撤销: the record stays, marked cancelled (False when it already was)."""
    if row.status == "cancelled":
        return False
    before = snapshot(row, _ABSENCE_FIELDS)
    row.status, row.cancelled_by, row.cancelled_at = "cancelled", actor, utcnow()
    audit(session, actor=actor, user_id=user_id, action="absence.cancel", entity_type="absence", entity_id=row.id,
          before=before, after=snapshot(row, _ABSENCE_FIELDS))
    return True


def _overlapping(model: Any, start: dt.datetime | None, end: dt.datetime | None) -> list[Any]:
    conds = []
    if start is not None:
        conds.append(model.ends_at > start)
    if end is not None:
        conds.append(model.starts_at < end)
    return conds


def list_absences(session: Session, hall_id: str, *, start: dt.datetime | None = None,
                  end: dt.datetime | None = None, staff_pk: int | None = None,
                  include_cancelled: bool = False) -> list[Absence]:
    q = select(Absence).where(Absence.hall_id == hall_id, *_overlapping(Absence, start, end))
    if staff_pk is not None:
        q = q.where(or_(Absence.staff_id == staff_pk, Absence.covers_staff_id == staff_pk))
    if not include_cancelled:
        q = q.where(Absence.status == "approved")
    return list(session.scalars(q.order_by(Absence.starts_at.desc(), Absence.id.desc()).limit(2000)))


def _codes(session: Session, hall_id: str) -> tuple[dict[int, Staff], dict[int, Window]]:
    staff = {s.id: s for s in session.scalars(select(Staff).where(Staff.hall_id == hall_id))}
    windows = {w.id: w for w in session.scalars(select(Window).where(Window.hall_id == hall_id))}
    return staff, windows


def absence_views(session: Session, hall_id: str, rows: Iterable[Absence]) -> list[dict[str, Any]]:
    staff, windows = _codes(session, hall_id)

    def person(pk: int | None) -> dict[str, str] | None:
        s = staff.get(pk) if pk is not None else None
        return {"id": s.code, "name": s.name} if s else None

    out = []
    for r in rows:
        w = windows.get(r.window_id) if r.window_id else None
        out.append({"id": r.id, "hall_id": r.hall_id, "kind": r.kind, "staff": person(r.staff_id),
                    "covers": person(r.covers_staff_id),
                    "window": {"id": w.code, "number": w.number, "name": w.name} if w else None,
                    "start": iso(r.starts_at), "end": iso(r.ends_at), "approver": r.approver, "reason": r.reason,
                    "source": r.source, "external_id": r.external_id, "status": r.status,
                    "created_by": r.created_by, "created_at": iso(r.created_at),
                    "cancelled_by": r.cancelled_by, "cancelled_at": iso(r.cancelled_at)})
    return out


# --------------------------------------------------------------------------- pauses


def create_pause(session: Session, hall_id: str, window_code: str, start: dt.datetime, end: dt.datetime,
                 reason: str, *, actor: str, user_id: int | None = None) -> WindowPause:
    """Record a pause and suppress the presence findings already open for that window within it."""
    _hall(session, hall_id)
    check_range(start, end)
    if not reason.strip():
        raise ApprovalError("a pause needs its reason")
    window = window_by_code(session, hall_id, window_code)
    row = WindowPause(hall_id=hall_id, window_id=window.id, starts_at=start, ends_at=end, reason=reason.strip(),
                      created_by=actor)
    session.add(row)
    session.flush()
    audit(session, actor=actor, user_id=user_id, action="pause.create", entity_type="window_pause",
          entity_id=row.id, after={**snapshot(row, _PAUSE_FIELDS), "window": window.code})
    for f in session.scalars(select(Finding).where(
            Finding.window_id == window.id, Finding.rule.in_(PAUSE_SUPPRESSES),
            Finding.started_at >= start, Finding.started_at < end)):
        excuse(session, f, row, window.code)
    return row


def cancel_pause(session: Session, row: WindowPause, *, actor: str, user_id: int | None = None) -> bool:
    if row.status == "cancelled":
        return False
    before = snapshot(row, _PAUSE_FIELDS)
    row.status, row.cancelled_by, row.cancelled_at = "cancelled", actor, utcnow()
    audit(session, actor=actor, user_id=user_id, action="pause.cancel", entity_type="window_pause", entity_id=row.id,
          before=before, after=snapshot(row, _PAUSE_FIELDS))
    return True


def list_pauses(session: Session, hall_id: str, *, start: dt.datetime | None = None, end: dt.datetime | None = None,
                include_cancelled: bool = False) -> list[WindowPause]:
    q = select(WindowPause).where(WindowPause.hall_id == hall_id, *_overlapping(WindowPause, start, end))
    if not include_cancelled:
        q = q.where(WindowPause.status == "approved")
    return list(session.scalars(q.order_by(WindowPause.starts_at.desc(), WindowPause.id.desc()).limit(2000)))


def pause_views(session: Session, hall_id: str, rows: Iterable[WindowPause],
                now: dt.datetime | None = None) -> list[dict[str, Any]]:
    _, windows = _codes(session, hall_id)
    now = now or utcnow()
    out = []
    for r in rows:
        w = windows.get(r.window_id)
        out.append({"id": r.id, "hall_id": r.hall_id,
                    "window": {"id": w.code, "number": w.number, "name": w.name} if w else None,
                    "start": iso(r.starts_at), "end": iso(r.ends_at), "reason": r.reason, "status": r.status,
                    "active": r.status == "approved" and r.starts_at <= now < r.ends_at,
                    "created_by": r.created_by, "created_at": iso(r.created_at),
                    "cancelled_by": r.cancelled_by, "cancelled_at": iso(r.cancelled_at)})
    return out


def active_pause(session: Session, window_pk: int, at: dt.datetime) -> WindowPause | None:
    return session.scalars(select(WindowPause).where(
        WindowPause.window_id == window_pk, WindowPause.status == "approved", WindowPause.starts_at <= at,
        WindowPause.ends_at > at).order_by(WindowPause.id)).first()


def pause_plan(session: Session, hall_id: str, now: dt.datetime) -> list[dict[str, Any]]:
    """The hall's current and coming pauses as ``WindowPauseSpec`` fields (what the edges get)."""
    _, windows = _codes(session, hall_id)
    rows = session.scalars(select(WindowPause).where(
        WindowPause.hall_id == hall_id, WindowPause.status == "approved", WindowPause.ends_at > now)
        .order_by(WindowPause.starts_at, WindowPause.id))
    return [{"window_id": windows[r.window_id].code, "start": r.starts_at, "end": r.ends_at, "reason": r.reason[:500]}
            for r in rows if r.window_id in windows]


def approval_actor() -> User:
    """The transient user the server's own suppressions act as (never stored; supervisor-level in the lifecycle)."""
    return User(username=APPROVAL_ACTOR, role="supervisor")


def excuse(session: Session, finding: Finding, pause: WindowPause, window_code: str) -> bool:
    """Dismiss the finding's undecided alert because the pause suppresses it; False when already decided."""
    alert: Alert | None = finding.alert
    if alert is None or alert.status not in ("open", "acknowledged"):
        return False
    comment = (f"暂停服务 #{pause.id} {window_code} {pause.starts_at.isoformat()}–{pause.ends_at.isoformat()}: "
               f"{pause.reason} (批准 {pause.created_by})")[:2000]
    try:
        transition(session, alert, "dismiss", approval_actor(), comment)
    except AlertTransitionError as exc:  # a concurrent decision won
        log.info("alert %s not excused: %s", alert.id, exc.detail)
        return False
    return True


def on_finding_opened(session: Session, msg: Any, finding: Finding) -> None:
    """Ingest hook: a presence finding for a paused window is suppressed at once."""
    if finding.rule not in PAUSE_SUPPRESSES or finding.window_id is None:
        return
    with session.no_autoflush:  # pauses depend on nothing an ingest batch has pending: no flush per finding
        pause = active_pause(session, finding.window_id, finding.started_at)
    if pause is not None:
        window = session.get(Window, finding.window_id)
        if excuse(session, finding, pause, window.code if window else "?"):
            log.info("finding %s suppressed by pause %s", finding.finding_id, pause.id)


# --------------------------------------------------------------------------- the assessment's view


def dismissed_by_approval(alert: Alert | None) -> bool:
    if alert is None:
        return False
    decided = [e for e in alert.events if e.to_status in ("confirmed", "dismissed")]
    return bool(decided) and decided[-1].to_status == "dismissed" and decided[-1].actor == APPROVAL_ACTOR


@dataclass
class AssessmentContext:
    """Approved absences, pauses and withdrawn appeals around a set of findings (one hall)."""

    absences: list[AbsenceEntry] = field(default_factory=list)
    absence_rows: dict[str, Absence] = field(default_factory=dict)
    pauses: dict[int, list[WindowPause]] = field(default_factory=dict)
    withdrawn: set[int] = field(default_factory=set)
    staff_codes: dict[int, str] = field(default_factory=dict)
    window_codes: dict[int, str] = field(default_factory=dict)

    def pause_at(self, window_pk: int | None, at: dt.datetime) -> WindowPause | None:
        for p in self.pauses.get(window_pk or -1, []):
            if p.starts_at <= at < p.ends_at:
                return p
        return None

    def judge(self, f: Finding, status: str, attribution: Attribution) -> tuple[str, dict[str, Any] | None]:
        """(status for scoring, approval shown on the sheet) of one finding."""
        if f.id in self.withdrawn:
            return "withdrawn", None
        pause = self.pause_at(f.window_id, f.started_at) if f.rule in PAUSE_SUPPRESSES else None
        if pause is not None:
            if status == "dismissed" and dismissed_by_approval(f.alert):
                status = "excused"
            return status, {"effect": "suppressed", "items": [self._pause_item(pause)]}
        if attribution.absences:
            return status, {"effect": "reattributed",
                            "items": [self._absence_item(a) for a in attribution.absences]}
        return status, None

    def _pause_item(self, p: WindowPause) -> dict[str, Any]:
        return {"kind": "pause", "id": p.id, "window_id": self.window_codes.get(p.window_id),
                "from": iso(p.starts_at), "to": iso(p.ends_at), "approver": p.created_by, "reason": p.reason}

    def _absence_item(self, a: AbsenceEntry) -> dict[str, Any]:
        row = self.absence_rows.get(a.ref)
        return {"kind": a.kind, "id": int(a.ref), "staff_id": a.staff_id, "window_id": a.window_id,
                "from": iso(a.start), "to": iso(a.end), "approver": row.approver if row else "",
                "reason": row.reason if row else ""}


def assessment_context(session: Session, hall_id: str, findings: list[Finding]) -> AssessmentContext:
    """Load what the assessment needs to judge ``findings`` of one hall (one query per table)."""
    ctx = AssessmentContext()
    if not findings:
        return ctx
    from server.people.models import Appeal

    staff, windows = _codes(session, hall_id)
    ctx.staff_codes = {pk: s.code for pk, s in staff.items()}
    ctx.window_codes = {pk: w.code for pk, w in windows.items()}
    first = min(f.started_at for f in findings)
    last = max(f.started_at for f in findings)
    for r in session.scalars(select(Absence).where(Absence.hall_id == hall_id, Absence.status == "approved",
                                                   Absence.starts_at <= last, Absence.ends_at > first)):
        ref = str(r.id)
        ctx.absence_rows[ref] = r
        ctx.absences.append(AbsenceEntry(ref, ctx.staff_codes.get(r.staff_id, "?"), r.kind, r.starts_at, r.ends_at,
                                         ctx.window_codes.get(r.window_id) if r.window_id else None))
    for p in session.scalars(select(WindowPause).where(
            WindowPause.hall_id == hall_id, WindowPause.status == "approved",
            and_(WindowPause.starts_at <= last, WindowPause.ends_at > first))):
        ctx.pauses.setdefault(p.window_id, []).append(p)
    ids = [f.id for f in findings]
    ctx.withdrawn = set(session.scalars(select(Appeal.finding_id).where(Appeal.finding_id.in_(ids),
                                                                        Appeal.status == "withdrawn")))
    return ctx
