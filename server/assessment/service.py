"""Assessment service: loads the hall's findings, roster and entries from the database and builds the
hall sheet (every window and staff member of one period), reassigns findings, records entries.

The hall sheet is plain JSON (``dict``); its canonical form (sorted keys, no spaces, UTF-8) is what
sign-off hashes. Sign-off and amendments live in ``signoff``; exports read the same JSON.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from server.assessment.attribution import Reassignment, RosterEntry, resolve
from server.assessment.models import AssessmentEntry, AssessmentReassignment
from server.assessment.scheme import Scheme
from server.assessment.scoring import EvidenceRecord, FindingRecord, ManualEntry, Period, rank, score_sheet, trend
from server.audit import audit
from server.db import Alert, Evidence, Finding, Hall, RosterAssignment, Staff, Window
from server.people.approvals import assessment_context

SHEET_KIND = "hallwatch.assessment.sheet"


class AssessmentError(ValueError):
    """A request the assessment cannot honour (unknown hall/item/staff, signed quarter …)."""


def canonical_json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sheet_hash(data: Any) -> str:
    return hashlib.sha256(canonical_json(data)).hexdigest()


def scheme_hash(scheme: Scheme) -> str:
    return sheet_hash(scheme.model_dump(mode="json"))


def get_hall(session: Session, hall_id: str) -> Hall:
    hall = session.get(Hall, hall_id)
    if hall is None:
        raise AssessmentError(f"unknown hall {hall_id!r}")
    return hall


def _roster(session: Session, hall_id: str) -> list[RosterEntry]:
    rows = session.execute(
        select(RosterAssignment, Window.code, Staff.code)
        .join(Window, RosterAssignment.window_id == Window.id)
        .join(Staff, RosterAssignment.staff_id == Staff.id)
        .where(Window.hall_id == hall_id)
    ).all()
    return [RosterEntry(w, s, r.role, r.valid_from, r.valid_to) for r, w, s in rows]


def decision(alert: Alert | None) -> str:
    """The alert's status for scoring: a closed alert keeps the decision it was closed with
    (confirmed → closed still counts; dismissed → closed never does)."""
    if alert is None:
        return "open"
    if alert.status != "closed":
        return alert.status
    decided = [e.to_status for e in alert.events if e.to_status in ("confirmed", "dismissed")]
    return decided[-1] if decided else "closed"


def load_findings(session: Session, scheme: Scheme, hall: Hall, start: dt.datetime,
                  end: dt.datetime) -> list[FindingRecord]:
    """Findings of the hall that started in [start, end), with alert status and attribution decided (approved
    absences, pauses and withdrawn appeals included: ``server.people.approvals.AssessmentContext``)."""
    tz = ZoneInfo(hall.timezone)
    windows = {w.id: w.code for w in session.scalars(select(Window).where(Window.hall_id == hall.id))}
    staff = {s.id: s.code for s in session.scalars(select(Staff).where(Staff.hall_id == hall.id))}
    rows = session.scalars(
        select(Finding)
        .where(Finding.hall_id == hall.id, Finding.started_at >= start, Finding.started_at < end)
        .options(selectinload(Finding.alert).selectinload(Alert.events), selectinload(Finding.evidence_links))
        .order_by(Finding.started_at, Finding.id)
    ).all()
    ids = [f.id for f in rows]
    reassign: list[Reassignment] = []
    if ids:
        for r in session.scalars(select(AssessmentReassignment).where(AssessmentReassignment.finding_id.in_(ids))):
            reassign.append(Reassignment(str(r.finding_id), staff.get(r.staff_id) if r.staff_id else None,
                                         r.reason, r.actor, r.at))
    roster = _roster(session, hall.id)
    people = assessment_context(session, hall.id, list(rows))
    out = []
    for f in rows:
        item = scheme.item_for_rule(f.rule)
        window_code = windows.get(f.window_id) if f.window_id else None
        who = resolve(
            finding_id=str(f.id), window_id=window_code, local_day=f.started_at.astimezone(tz).date(),
            edge_staff_id=staff.get(f.staff_id) if f.staff_id else None,
            attribute_to=item.attribute_to if item else "staff", roster=roster, reassignments=reassign,
            at=f.started_at, absences=people.absences)
        status, approval = people.judge(f, decision(f.alert), who)
        out.append(FindingRecord(
            id=f.finding_id, rule=f.rule, started_at=f.started_at, status=status,
            window_id=window_code, staff_id=who.staff_id, duration_s=f.duration_s,
            evidence=tuple(EvidenceRecord(e.sha256, e.kind or "snapshot") for e in f.evidence_links),
            attribution=who.basis, approval=approval))
    return out


def load_entries(session: Session, hall: Hall, start: dt.datetime, end: dt.datetime) -> list[ManualEntry]:
    windows = {w.id: w.code for w in session.scalars(select(Window).where(Window.hall_id == hall.id))}
    staff = {s.id: s.code for s in session.scalars(select(Staff).where(Staff.hall_id == hall.id))}
    rows = session.scalars(select(AssessmentEntry).where(
        AssessmentEntry.hall_id == hall.id, AssessmentEntry.at >= start, AssessmentEntry.at < end))
    return [ManualEntry(id=f"entry-{e.id}", item_id=e.item_id, at=e.at, window_id=windows.get(e.window_id),
                        staff_id=staff.get(e.staff_id), count=e.count, note=e.note, entered_by=e.actor) for e in rows]


def build_hall_sheet(session: Session, scheme: Scheme, hall_id: str, period: Period, *,
                     as_of: dt.datetime | None = None, lang: str = "zh") -> dict[str, Any]:
    """Every active window's and staff member's sheet for the period, rankings, monthly trends, evidence."""
    hall = get_hall(session, hall_id)
    tz = ZoneInfo(hall.timezone)
    as_of = as_of or dt.datetime.now(dt.timezone.utc)
    start, end = period.bounds(tz)
    findings = load_findings(session, scheme, hall, start, end)
    entries = load_entries(session, hall, start, end)
    windows = session.scalars(select(Window).where(Window.hall_id == hall_id, Window.active.is_(True))
                              .order_by(Window.number)).all()
    staff = session.scalars(select(Staff).where(Staff.hall_id == hall_id, Staff.active.is_(True))
                            .order_by(Staff.code)).all()
    months = period.months()
    w_out, s_out, w_sheets, s_sheets = [], [], [], []
    for w in windows:
        sheet = score_sheet(scheme, "window", w.code, period, findings, entries, tz=tz, as_of=as_of)
        w_sheets.append(sheet)
        w_out.append({"id": w.code, "number": w.number, "name": w.name, "sheet": sheet.to_dict(),
                      "months": trend(scheme, "window", w.code, months, findings, entries, tz=tz, as_of=as_of)})
    for s in staff:
        sheet = score_sheet(scheme, "staff", s.code, period, findings, entries, tz=tz, as_of=as_of)
        s_sheets.append(sheet)
        s_out.append({"id": s.code, "name": s.name, "department": s.department, "sheet": sheet.to_dict(),
                      "months": trend(scheme, "staff", s.code, months, findings, entries, tz=tz, as_of=as_of)})
    hashes = sorted({h for sh in w_sheets + s_sheets for h in sh.evidence})
    evidence = []
    if hashes:
        rows = {e.sha256: e for e in session.scalars(select(Evidence).where(Evidence.sha256.in_(hashes)))}
        for h in hashes:
            e = rows.get(h)
            evidence.append({"sha256": h, "kind": e.kind if e else None, "content_type": e.content_type if e else None,
                             "size": e.size if e else None})
    return {
        "kind": SHEET_KIND, "version": 1, "lang": lang,
        "hall": {"id": hall.id, "name": hall.name, "timezone": hall.timezone},
        "period": period.label, "period_kind": period.kind,
        "scheme": {"id": scheme.id, "name": scheme.name, "name_en": scheme.name_en, "sha256": scheme_hash(scheme),
                   "base_points": scheme.base_points, "doubling": scheme.doubling.model_dump(mode="json")},
        "as_of": as_of.astimezone(tz).isoformat(),
        "provisional": as_of < end,
        "windows": w_out, "staff": s_out,
        "ranking": {"windows": rank(w_sheets), "staff": rank(s_sheets)},
        "evidence": evidence,
        "unassessed_rules": scheme.unmapped_rules(),
    }


# --------------------------------------------------------------------------- supervisor actions


def _finding_row(session: Session, finding_uuid: str) -> Finding:
    f = session.scalars(select(Finding).where(Finding.finding_id == finding_uuid)).first()
    if f is None:
        raise AssessmentError(f"unknown finding {finding_uuid!r}")
    return f


def _staff_row(session: Session, hall_id: str, code: str) -> Staff:
    s = session.scalars(select(Staff).where(Staff.hall_id == hall_id, Staff.code == code)).first()
    if s is None:
        raise AssessmentError(f"unknown staff {code!r} in hall {hall_id!r}")
    return s


def reassign(session: Session, scheme: Scheme, finding_uuid: str, staff_code: str | None, reason: str, *,
             actor: str, user_id: int | None = None) -> dict[str, Any]:
    """Charge a finding to another person (or to nobody), with a reason; audited with before/after."""
    if not reason.strip():
        raise AssessmentError("a reassignment needs a reason")
    f = _finding_row(session, finding_uuid)
    hall = get_hall(session, f.hall_id)
    (before,) = [r for r in load_findings(session, scheme, hall, f.started_at, f.started_at + dt.timedelta(
        microseconds=1)) if r.id == f.finding_id]
    staff = _staff_row(session, f.hall_id, staff_code) if staff_code else None
    row = AssessmentReassignment(finding_id=f.id, staff_id=staff.id if staff else None, reason=reason.strip(),
                                 actor=actor)
    session.add(row)
    session.flush()
    after = {"staff_id": staff_code, "attribution": "reassigned", "reason": row.reason}
    audit(session, actor=actor, user_id=user_id, action="assessment.reassign", entity_type="finding",
          entity_id=f.finding_id, before={"staff_id": before.staff_id, "attribution": before.attribution},
          after=after)
    return {"finding_id": f.finding_id, "before": {"staff_id": before.staff_id, "attribution": before.attribution},
            "after": after}


def add_entry(session: Session, scheme: Scheme, hall_id: str, item_id: str, at: dt.datetime, *,
              window_code: str | None, staff_code: str | None, count: int, note: str, actor: str,
              user_id: int | None = None) -> AssessmentEntry:
    """Record a supervisor's bonus or deduction entry (audited)."""
    if scheme.deduction(item_id) is None and scheme.bonus(item_id) is None:
        raise AssessmentError(f"unknown item {item_id!r}")
    if at.tzinfo is None:
        raise AssessmentError("'at' needs a UTC offset")
    get_hall(session, hall_id)
    window = None
    if window_code:
        window = session.scalars(select(Window).where(Window.hall_id == hall_id, Window.code == window_code)).first()
        if window is None:
            raise AssessmentError(f"unknown window {window_code!r}")
    staff = _staff_row(session, hall_id, staff_code) if staff_code else None
    if window is None and staff is None:
        raise AssessmentError("an entry needs a window or a staff member")
    row = AssessmentEntry(hall_id=hall_id, item_id=item_id, window_id=window.id if window else None,
                          staff_id=staff.id if staff else None, at=at, count=count, note=note, actor=actor)
    session.add(row)
    session.flush()
    audit(session, actor=actor, user_id=user_id, action="assessment.entry", entity_type="assessment_entry",
          entity_id=row.id, after={"item_id": item_id, "window": window_code, "staff": staff_code,
                                   "at": at.isoformat(), "count": count, "note": note})
    return row

