"""Alert lifecycle: open → acknowledged → confirmed | dismissed (false positive) → closed.

Every step writes an ``alert_events`` row (who/when/comment), an audit row, bumps a counter and
queues a live event (broadcast after commit). Other packages may register ``TRANSITION_HOOKS``
(called inside the same transaction, e.g. the console turns a confirmed alert into a patrol finding).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from server import events
from server.audit import audit, snapshot
from server.db import Alert, AlertEvent, Finding, User, utcnow
from server.deps import ROLE_RANK
from server.metrics import ALERT_TRANSITIONS


@dataclass(frozen=True)
class Transition:
    to: str
    sources: tuple[str, ...]
    min_role: str
    comment_required: bool = False


TRANSITIONS: dict[str, Transition] = {
    "acknowledge": Transition("acknowledged", ("open",), "inspector"),
    "confirm": Transition("confirmed", ("open", "acknowledged"), "supervisor"),
    "dismiss": Transition("dismissed", ("open", "acknowledged"), "supervisor", comment_required=True),
    "close": Transition("closed", ("confirmed", "dismissed"), "supervisor"),
}
TRANSITION_HOOKS: list[Callable[[Session, Alert, str, User | None], None]] = []
_AUDIT_FIELDS = ("status", "escalated", "acknowledged_at", "decided_at", "closed_at")
ALERT_IDS = "hallwatch_alert_ids"  # session.info: alert ids reserved by reserve_alert_ids, taken by open_alert


class AlertTransitionError(Exception):
    """``code``: forbidden (403) | conflict (409) | invalid (422)."""

    def __init__(self, code: str, detail: str):
        self.code, self.detail = code, detail
        super().__init__(detail)


def alert_event_dict(alert: Alert, finding: Finding, action: str) -> dict:
    return {"type": f"alert.{action}", "alert_id": alert.id, "status": alert.status, "hall_id": alert.hall_id,
            "rule": finding.rule, "severity": finding.severity, "window_id": finding.window_id,
            "finding_id": finding.finding_id, "escalated": alert.escalated, "at": utcnow().isoformat()}


def reserve_alert_ids(session: Session, n: int) -> None:
    """Reserve ``n`` ids from the alerts' sequence (PostgreSQL; one round trip) for the alerts this session is about
    to open: ``open_alert`` then needs no flush to learn an alert's id, and a batch's findings, alerts, their events
    and audit rows are inserted together at its end. Ids left unused are gaps, as after any rollback."""
    if n <= 0 or session.get_bind().dialect.name != "postgresql":
        return
    ids = session.scalars(text("SELECT nextval(pg_get_serial_sequence('alerts', 'id')) FROM generate_series(1, :n)"),
                          {"n": n}).all()
    session.info.setdefault(ALERT_IDS, []).extend(ids)


def open_alert(session: Session, finding: Finding, actor: str) -> Alert:
    alert = Alert(finding=finding, hall_id=finding.hall_id, status="open", escalated=False)
    reserved = session.info.get(ALERT_IDS)
    if reserved:
        alert.id = reserved.pop(0)
    session.add(alert)
    if alert.id is None:
        session.flush()
    session.add(AlertEvent(alert=alert, action="opened", from_status=None, to_status="open", actor=actor))
    audit(session, actor=actor, action="alert.open", entity_type="alert", entity_id=alert.id,
          after=snapshot(alert, _AUDIT_FIELDS))
    ALERT_TRANSITIONS.inc(action="opened")
    events.after_commit(session, alert_event_dict(alert, finding, "opened"))
    return alert


def transition(session: Session, alert: Alert, action: str, user: User, comment: str | None = None) -> Alert:
    """Apply a user action; raises AlertTransitionError when not allowed."""
    t = TRANSITIONS.get(action)
    if t is None:
        raise AlertTransitionError("invalid", f"unknown action {action!r}")
    if ROLE_RANK.get(user.role, -1) < ROLE_RANK[t.min_role]:
        raise AlertTransitionError("forbidden", f"{action} requires role {t.min_role} or higher")
    if alert.status not in t.sources:
        raise AlertTransitionError("conflict", f"cannot {action} an alert that is {alert.status}")
    comment = (comment or "").strip() or None
    if t.comment_required and not comment:
        raise AlertTransitionError("invalid", f"{action} needs a comment")
    before = snapshot(alert, _AUDIT_FIELDS)
    now = utcnow()
    previous, alert.status = alert.status, t.to
    if action == "acknowledge":
        alert.acknowledged_at = now
    elif action in ("confirm", "dismiss"):
        alert.decided_at = now
    elif action == "close":
        alert.closed_at = now
    session.add(AlertEvent(alert=alert, action=action, from_status=previous, to_status=t.to, user_id=user.id,
                           actor=user.username, comment=comment, at=now))
    audit(session, actor=user.username, user_id=user.id, action=f"alert.{action}", entity_type="alert",
          entity_id=alert.id, before=before, after={**snapshot(alert, _AUDIT_FIELDS), "comment": comment})
    for hook in TRANSITION_HOOKS:
        hook(session, alert, action, user)
    session.flush()
    ALERT_TRANSITIONS.inc(action=action)
    events.after_commit(session, alert_event_dict(alert, alert.finding, action))
    return alert


def escalate(session: Session, alert: Alert, reason: str, actor: str = "system") -> bool:
    """Mark an unacknowledged alert escalated (no status change). False if not applicable."""
    if alert.escalated or alert.status != "open":
        return False
    before = snapshot(alert, _AUDIT_FIELDS)
    alert.escalated, alert.escalated_at = True, utcnow()
    session.add(AlertEvent(alert=alert, action="escalate", from_status="open", to_status="open", actor=actor,
                           comment=reason))
    audit(session, actor=actor, action="alert.escalate", entity_type="alert", entity_id=alert.id, before=before,
          after=snapshot(alert, _AUDIT_FIELDS))
    ALERT_TRANSITIONS.inc(action="escalate")
    events.after_commit(session, alert_event_dict(alert, alert.finding, "escalated"))
    return True
