"""Staff logins and 申诉复核 (appeals).

A login of role ``staff`` is linked to one staff record (``StaffAccount``) and sees only that person's sheet and
findings. The clerk may appeal a confirmed finding charged to them, with a reason, within
``appeal_window_days`` of its confirmation; one appeal per finding. The assessment office (a supervisor) decides:

- ``uphold`` — the deduction stands (the comment says why);
- ``withdraw`` — the finding no longer counts (``AssessmentContext`` marks it withdrawn). For a quarter that is
  already signed off, the withdrawal is carried out as an audited amendment of the signed sheet
  (``server.assessment.signoff.amend``), linked from the appeal; an unsigned quarter is computed live and the
  finding simply leaves it.

Filing and deciding are audited with before/after.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from edge.contract import RULES
from server.assessment import signoff as so
from server.assessment.scheme import Scheme
from server.assessment.scoring import FindingRecord, Period
from server.assessment.service import AssessmentError, decision, get_hall, load_findings
from server.audit import audit, snapshot
from server.db import Finding, FindingEvidence, Hall, Staff, User, Window, utcnow
from server.people.approvals import iso, staff_by_code
from server.people.models import Appeal, StaffAccount
from server.users import create_user

DECISIONS = {"uphold": "upheld", "withdraw": "withdrawn"}
_FIELDS = ("status", "decided_by", "decided_at", "comment", "amendment_id")


class AppealError(ValueError):
    """``code``: forbidden (403) | not_found (404) | conflict (409) | invalid (422)."""

    def __init__(self, code: str, detail: str):
        self.code, self.detail = code, detail
        super().__init__(detail)


# --------------------------------------------------------------------------- staff logins


def staff_of(session: Session, user: User) -> Staff | None:
    """The staff record a ``staff`` login is linked to (None for other roles or an unlinked login)."""
    if user.role != "staff":
        return None
    link = session.get(StaffAccount, user.id)
    return session.get(Staff, link.staff_id) if link is not None else None


def create_staff_account(session: Session, hall_id: str, staff_code: str, *, username: str, password: str,
                         display_name: str | None, actor: str, actor_id: int | None = None) -> User:
    """A ``staff`` login bound to the hall and linked to one staff record (one login per person)."""
    staff = staff_by_code(session, hall_id, staff_code)
    if session.scalars(select(StaffAccount).where(StaffAccount.staff_id == staff.id)).first() is not None:
        raise AppealError("conflict", f"staff {staff_code!r} already has a login")
    user = create_user(session, username=username, password=password, role="staff", actor=actor, actor_id=actor_id,
                       display_name=display_name or staff.name, hall_id=hall_id)
    session.add(StaffAccount(user_id=user.id, staff_id=staff.id))
    session.flush()
    audit(session, actor=actor, user_id=actor_id, action="staff_account.link", entity_type="user", entity_id=user.id,
          after={"staff": staff_code, "hall_id": hall_id})
    return user


def staff_accounts(session: Session, hall_id: str) -> list[dict[str, Any]]:
    rows = session.execute(select(User, Staff).join(StaffAccount, StaffAccount.user_id == User.id)
                           .join(Staff, Staff.id == StaffAccount.staff_id).where(Staff.hall_id == hall_id)
                           .order_by(Staff.code))
    return [{"user_id": u.id, "username": u.username, "active": u.active, "staff": {"id": s.code, "name": s.name}}
            for u, s in rows]


# --------------------------------------------------------------------------- what the clerk may see


def finding_record(session: Session, scheme: Scheme, finding: Finding) -> FindingRecord:
    """The assessment's view of one finding (status and attribution as on the sheet)."""
    hall = get_hall(session, finding.hall_id)
    recs = load_findings(session, scheme, hall, finding.started_at, finding.started_at + dt.timedelta(microseconds=1))
    return next(r for r in recs if r.id == finding.finding_id)


def charged_to(session: Session, scheme: Scheme, finding: Finding, staff: Staff) -> bool:
    return finding.hall_id == staff.hall_id and finding_record(session, scheme, finding).staff_id == staff.code


def may_see_evidence(session: Session, scheme: Scheme, staff: Staff, sha256: str) -> bool:
    """A clerk sees an evidence file of a finding charged to them (or one they appealed)."""
    rows = session.scalars(select(Finding).join(FindingEvidence, FindingEvidence.finding_id == Finding.id)
                           .where(FindingEvidence.sha256 == sha256, Finding.hall_id == staff.hall_id)).all()
    for f in rows:
        appealed = session.scalars(select(Appeal.id).where(Appeal.finding_id == f.id,
                                                           Appeal.staff_id == staff.id)).first()
        if appealed is not None or charged_to(session, scheme, f, staff):
            return True
    return False


def deadline(finding: Finding, window_days: float) -> dt.datetime | None:
    """Last moment to appeal: confirmation time + the window (None while the finding is not confirmed)."""
    alert = finding.alert
    if alert is None or decision(alert) != "confirmed" or alert.decided_at is None:
        return None
    return alert.decided_at + dt.timedelta(days=window_days)


def own_sheet(session: Session, scheme: Scheme, staff: Staff, period_text: str, window_days: float,
              now: dt.datetime | None = None) -> dict[str, Any]:
    """The clerk's sheet for a month or quarter (frozen when signed), each finding line with its appeal and the
    appeal deadline."""
    now = now or utcnow()
    sheet = so.sheet_for(session, scheme, staff.hall_id, period_text)
    entry = next((e for e in sheet["staff"] if e["id"] == staff.code), None)
    if entry is None:
        raise AppealError("not_found", f"staff {staff.code!r} is not on the {sheet['period']} sheet")
    uuids = [ln["ref_id"] for ln in entry["sheet"]["lines"] if ln["source"] == "finding"]
    findings = {f.finding_id: f for f in session.scalars(select(Finding).where(Finding.finding_id.in_(uuids)))} \
        if uuids else {}
    appeals = {a.finding_id: a for a in session.scalars(select(Appeal).where(
        Appeal.finding_id.in_([f.id for f in findings.values()])))} if findings else {}
    lines = []
    for ln in entry["sheet"]["lines"]:
        f = findings.get(ln["ref_id"]) if ln["source"] == "finding" else None
        extra: dict[str, Any] = {"appeal": None, "appeal_until": None, "can_appeal": False, "alert_id": None}
        if f is not None:
            a = appeals.get(f.id)
            until = deadline(f, window_days)
            extra = {"appeal": appeal_brief(a) if a else None, "appeal_until": iso(until),
                     "can_appeal": a is None and until is not None and now <= until and ln["kind"] != "not_deducted",
                     "alert_id": f.alert.id if f.alert else None}
        lines.append({**ln, **extra})
    ranking = next((r for r in sheet["ranking"]["staff"] if r["subject_id"] == staff.code), None)
    return {"hall": sheet["hall"], "period": sheet["period"], "provisional": sheet["provisional"],
            "signoff": sheet["signoff"] is not None, "staff": {"id": staff.code, "name": staff.name,
                                                               "department": staff.department},
            "sheet": {**entry["sheet"], "lines": lines}, "months": entry["months"],
            "rank": ranking["rank"] if ranking else None, "of": len(sheet["staff"]),
            "evidence": sheet["evidence"], "appeal_window_days": window_days,
            "items": {i.id: {"name": i.name, "name_en": i.name_en} for i in [*scheme.deductions, *scheme.bonuses]},
            "rule_names": dict(RULES)}


# --------------------------------------------------------------------------- filing and deciding


def file_appeal(session: Session, scheme: Scheme, user: User, staff: Staff, finding_uuid: str, reason: str, *,
                window_days: float, now: dt.datetime | None = None) -> Appeal:
    now = now or utcnow()
    reason = reason.strip()
    if len(reason) < 2:
        raise AppealError("invalid", "an appeal needs a reason")
    f = session.scalars(select(Finding).where(Finding.finding_id == finding_uuid)).first()
    if f is None or f.hall_id != staff.hall_id:
        raise AppealError("not_found", f"unknown finding {finding_uuid!r}")
    rec = finding_record(session, scheme, f)
    if rec.staff_id != staff.code:
        raise AppealError("forbidden", "only the person a finding is charged to may appeal it")
    if rec.status != "confirmed":
        raise AppealError("conflict", f"only a confirmed finding can be appealed (this one is {rec.status})")
    until = deadline(f, window_days)
    if until is None or now > until:
        raise AppealError("conflict", f"the appeal period of {window_days:g} days after confirmation has ended")
    if session.scalars(select(Appeal.id).where(Appeal.finding_id == f.id)).first() is not None:
        raise AppealError("conflict", "this finding has already been appealed")
    row = Appeal(hall_id=f.hall_id, finding_id=f.id, staff_id=staff.id, reason=reason[:4000], filed_by=user.id,
                 filed_at=now)
    session.add(row)
    session.flush()
    audit(session, actor=user.username, user_id=user.id, action="appeal.file", entity_type="appeal", entity_id=row.id,
          after={"finding_id": f.finding_id, "staff": staff.code, "reason": row.reason})
    return row


def quarter_of_finding(session: Session, finding: Finding) -> str:
    hall = session.get(Hall, finding.hall_id)
    local = finding.started_at.astimezone(ZoneInfo(hall.timezone if hall else "Asia/Shanghai"))
    return Period(local.year, local.month, 1).quarter().label


def decide_appeal(session: Session, scheme: Scheme, appeal: Appeal, verdict: str, comment: str, *, actor: str,
                  user_id: int | None = None) -> Appeal:
    """Uphold or withdraw; a withdrawal on a signed quarter is recorded as an amendment of that quarter."""
    if verdict not in DECISIONS:
        raise AppealError("invalid", f"decision must be one of {', '.join(DECISIONS)}")
    comment = comment.strip()
    if len(comment) < 2:
        raise AppealError("invalid", "a decision needs a comment")
    if appeal.status != "pending":
        raise AppealError("conflict", f"appeal {appeal.id} is already {appeal.status}")
    before = snapshot(appeal, _FIELDS)
    appeal.status, appeal.decided_by, appeal.decided_at, appeal.comment = DECISIONS[verdict], actor, utcnow(), comment
    session.flush()
    if verdict == "withdraw":
        finding = session.get(Finding, appeal.finding_id)
        quarter = quarter_of_finding(session, finding)
        if so.get_signoff(session, appeal.hall_id, quarter) is not None:
            try:
                am = so.amend(session, scheme, appeal.hall_id, quarter,
                              f"申诉复核 #{appeal.id} 撤销 {finding.finding_id}: {comment}", actor=actor, user_id=user_id)
                appeal.amendment_id = am.id
            except AssessmentError as exc:
                if "nothing to amend" not in str(exc):
                    raise AppealError("conflict", str(exc)) from None
    audit(session, actor=actor, user_id=user_id, action=f"appeal.{verdict}", entity_type="appeal",
          entity_id=appeal.id, before=before, after=snapshot(appeal, _FIELDS))
    return appeal


def appeal_brief(a: Appeal) -> dict[str, Any]:
    return {"id": a.id, "status": a.status, "reason": a.reason, "filed_at": iso(a.filed_at),
            "decided_by": a.decided_by, "decided_at": iso(a.decided_at), "comment": a.comment,
            "amendment_id": a.amendment_id}


def appeal_views(session: Session, appeals: list[Appeal]) -> list[dict[str, Any]]:
    from server.assessment.models import AssessmentAmendment

    out = []
    for a in appeals:
        f = session.get(Finding, a.finding_id)
        s = session.get(Staff, a.staff_id)
        w = session.get(Window, f.window_id) if f is not None and f.window_id else None
        am = session.get(AssessmentAmendment, a.amendment_id) if a.amendment_id else None
        decider = session.scalars(select(User).where(User.username == a.decided_by)).first() if a.decided_by else None
        out.append({
            **appeal_brief(a), "hall_id": a.hall_id,
            "decided_by": (decider.display_name or decider.username) if decider else a.decided_by,
            "staff": {"id": s.code, "name": s.name} if s else None,
            "amendment": {"seq": am.seq, "sha256": am.sha256} if am else None,
            "finding": None if f is None else {
                "finding_id": f.finding_id, "rule": f.rule, "started_at": iso(f.started_at),
                "ended_at": iso(f.ended_at), "duration_s": f.duration_s,
                "window": {"id": w.code, "number": w.number, "name": w.name} if w else None,
                "alert_id": f.alert.id if f.alert else None,
                "evidence": [{"sha256": e.sha256, "kind": e.kind or e.evidence.kind} for e in f.evidence_links]},
        })
    return out


def list_appeals(session: Session, hall_id: str, *, status: str | None = None,
                 staff_pk: int | None = None) -> list[Appeal]:
    q = select(Appeal).where(Appeal.hall_id == hall_id)
    if status:
        q = q.where(Appeal.status == status)
    if staff_pk is not None:
        q = q.where(Appeal.staff_id == staff_pk)
    return list(session.scalars(q.order_by(Appeal.filed_at.desc(), Appeal.id.desc()).limit(1000)))
