"""Duty checks (一键查岗) and after-hours safety checks (下班安全检查): create, finalise, sign off.

A check row is created with a fresh ``request_id``; the route sends ``command.duty_check`` /
``command.safety_check`` with that id to the hall's edges after the commit. The core ingest stores the
edges' answers (``duty_check_windows`` / raw ``safety_check_items``) and calls our hook, which merges the
edge's items with the server's own readings and health (``server.console.safety.evaluate``), opens an alert
for each failed item and broadcasts the result. Checks nobody answers are judged from server data alone
after ``result_timeout_s`` by the background loop.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from edge.contract import EvidenceRef, SafetyItem
from server import events
from server.alerts import open_alert
from server.audit import audit
from server.console.metrics import CHECKS
from server.console.safety import ITEM_RULE, ITEM_SEVERITY, ITEMS, Reading, evaluate, outcome
from server.console.views import site_config
from server.db import (
    Camera,
    DutyCheck,
    Evidence,
    Finding,
    Hall,
    SafetyCheck,
    SafetyCheckItem,
    Sensor,
    SensorReadingRow,
    User,
    utcnow,
)

log = logging.getLogger(__name__)
SERVER_EDGE = "server"  # edge_code of findings the server itself raises (failed safety items)
_NS = uuid.UUID("6f1d7f3e-5b0e-4c53-9d55-3f6a8f0f2c11")


def create_duty_check(session: Session, hall: Hall, user: User | None) -> DutyCheck:
    chk = DutyCheck(hall_id=hall.id, request_id=str(uuid.uuid4()), requested_by=user.id if user else None,
                    status="pending")
    session.add(chk)
    session.flush()
    audit(session, actor=user.username if user else "system", user_id=user.id if user else None,
          action="duty_check.request", entity_type="duty_check", entity_id=chk.id, after={"hall_id": hall.id})
    CHECKS.inc(kind="duty", trigger="manual", outcome="requested")
    return chk


def create_safety_check(session: Session, hall: Hall, trigger: str, user: User | None,
                        now: dt.datetime | None = None) -> SafetyCheck:
    chk = SafetyCheck(hall_id=hall.id, request_id=str(uuid.uuid4()), trigger=trigger,
                      requested_by=user.id if user else None, requested_at=now or utcnow(), status="pending")
    session.add(chk)
    session.flush()
    audit(session, actor=user.username if user else "system", user_id=user.id if user else None,
          action="safety_check.request", entity_type="safety_check", entity_id=chk.id,
          after={"hall_id": hall.id, "trigger": trigger})
    CHECKS.inc(kind="safety", trigger=trigger, outcome="requested")
    return chk


# ----------------------------------------------------------------------------- server-side facts

def latest_readings(session: Session, hall_id: str, since: dt.datetime) -> dict[str, dict[str, Reading]]:
    """Newest reading per (sensor, kind) since ``since`` (older readings say nothing about tonight)."""
    rows = session.scalars(select(SensorReadingRow).where(SensorReadingRow.hall_id == hall_id,
                                                          SensorReadingRow.at >= since)
                           .order_by(SensorReadingRow.at))
    out: dict[str, dict[str, Reading]] = {}
    for r in rows:
        value: Any = r.value_text if r.value_text is not None else r.value_num
        if r.kind in ("contact", "occupancy", "smoke") and r.value_num is not None:
            value = bool(r.value_num)
        out.setdefault(r.sensor_code, {})[r.kind] = Reading(r.sensor_code, r.kind, value, r.at)
    return out


def _merged(row: SafetyCheckItem) -> bool:
    return bool((row.value or {}).get("merged"))


def _edge_items(session: Session, chk: SafetyCheck) -> list[SafetyItem]:
    """What the edges said: raw rows from the ingest plus edge-sourced lines of an earlier merge."""
    kinds = {}
    shas = {s for r in chk.items for s in (r.evidence or []) if isinstance(s, str)}
    if shas:
        kinds = {e.sha256: e for e in session.scalars(select(Evidence).where(Evidence.sha256.in_(shas)))}
    items: dict[tuple[str, str], SafetyItem] = {}
    for row in sorted(chk.items, key=lambda r: (not _merged(r), r.id or 0)):  # merged first, raw (newer) wins
        if _merged(row) and (row.value or {}).get("source") != "edge":
            continue
        refs = []
        for sha in row.evidence or []:
            sha = sha if isinstance(sha, str) else sha.get("sha256")
            ev = kinds.get(sha)
            refs.append(EvidenceRef(sha256=sha, kind=(ev.kind if ev and ev.kind in ("snapshot", "frame", "clip", "chart")
                                                     else "snapshot"),
                                    content_type=(ev.content_type if ev and ev.content_type else "image/jpeg"),
                                    size=(ev.size or 0) if ev else 0))
        value = (row.value or {}).get("value")
        items[(row.item, row.subject)] = SafetyItem(item=row.item, subject=row.subject, passed=row.passed,
                                                    detail=row.detail, value=value, evidence=refs)
    return list(items.values())


def finalize_safety_check(session: Session, chk: SafetyCheck, now: dt.datetime | None = None) -> str:
    """Merge edge answers with server facts, store the sheet, open alerts for failed items. Idempotent."""
    now = now or utcnow()
    hall = session.get(Hall, chk.hall_id)
    cfg = site_config(hall) if hall else None
    if cfg is None:
        chk.status, chk.completed_at = "incomplete", now
        log.warning("safety check %s: hall %s has no site config; cannot judge items", chk.id, chk.hall_id)
        return chk.status
    edge_items = _edge_items(session, chk)
    edge_of = {(r.item, r.subject): r.edge_code for r in chk.items if r.edge_code}
    window_start = chk.requested_at - dt.timedelta(hours=6)
    readings = latest_readings(session, hall.id, window_start)
    cams = {c.code: c.health for c in session.scalars(select(Camera).where(Camera.hall_id == hall.id))
            if c.last_seen is not None}
    sensors = {s.code: s for s in session.scalars(select(Sensor).where(Sensor.hall_id == hall.id))}
    reported = {code: s.online for code, s in sensors.items() if s.online is not None}
    seen = {code: s.last_seen for code, s in sensors.items()}
    sheet = evaluate(cfg, edge_items, readings, now, camera_states=cams, sensor_reported=reported, sensor_seen=seen)
    old_alerts = {(r.item, r.subject): r.alert_id for r in chk.items if r.alert_id}
    chk.items.clear()
    session.flush()
    for line in sheet:
        row = SafetyCheckItem(
            edge_code=edge_of.get(line.key) if line.source == "edge" else None, item=line.item, subject=line.subject,
            passed=line.passed, detail=line.detail or None,
            value={"merged": True, "value": line.value, "source": line.source, "subject_name": line.subject_name},
            evidence=[e["sha256"] for e in line.evidence], alert_id=old_alerts.get(line.key))
        chk.items.append(row)
    session.flush()
    for row in chk.items:
        if chk.trigger == "preview":
            break  # a preview during service hours shows the sheet and opens nothing
        if row.passed is False and row.alert_id is None:
            row.alert_id = _open_item_alert(session, chk, row, sensors, now).id
    result = outcome(sheet)
    before = chk.status
    chk.status, chk.completed_at = result, now
    audit(session, actor="system", action="safety_check.result", entity_type="safety_check", entity_id=chk.id,
          before={"status": before}, after={"status": result, "items": len(sheet),
                                            "failed": sum(1 for i in sheet if i.passed is False)})
    CHECKS.inc(kind="safety", trigger=chk.trigger, outcome=result)
    events.after_commit(session, {"type": "console.safety_check", "id": chk.id, "hall_id": chk.hall_id,
                                  "status": result})
    return result


def _open_item_alert(session: Session, chk: SafetyCheck, row: SafetyCheckItem, sensors: dict[str, Sensor],
                     now: dt.datetime) -> Any:
    """A failed item becomes a finding + alert for the duty officer (deterministic id: once per check/item)."""
    fid = str(uuid.uuid5(_NS, f"{chk.request_id}/{row.item}/{row.subject}"))
    f = session.scalars(select(Finding).where(Finding.finding_id == fid)).first()
    if f is not None and f.alert is not None:
        return f.alert
    sensor = sensors.get(row.subject)
    cam = session.scalars(select(Camera).where(Camera.hall_id == chk.hall_id, Camera.code == row.subject)).first()
    f = Finding(finding_id=fid, hall_id=chk.hall_id, edge_code=row.edge_code or SERVER_EDGE,
                rule=ITEM_RULE.get(row.item, row.item), severity=ITEM_SEVERITY.get(row.item, "major"),
                sensor_id=sensor.id if sensor else None, camera_id=cam.id if cam else None,
                window_id=sensor.window_id if sensor else None, zone_code=row.subject if row.item == "exit_clear" else None,
                started_at=now, status="open",
                details={"safety_check_id": chk.id, "item": row.item, "item_name": ITEMS.get(row.item, (row.item,))[0],
                         "subject": row.subject, "detail": row.detail})
    session.add(f)
    session.flush()
    from server.db import FindingEvidence
    for sha in row.evidence or []:
        if session.get(Evidence, sha) is not None:
            f.evidence_links.append(FindingEvidence(sha256=sha, kind=session.get(Evidence, sha).kind))
    return open_alert(session, f, actor="system:safety_check")


def overdue_pending(session: Session, now: dt.datetime, timeout_s: float,
                    hall_ids: list[str] | None = None) -> list[SafetyCheck]:
    cutoff = now - dt.timedelta(seconds=timeout_s)
    q = select(SafetyCheck).where(SafetyCheck.status == "pending", SafetyCheck.requested_at <= cutoff)
    if hall_ids is not None:
        q = q.where(SafetyCheck.hall_id.in_(hall_ids))
    return list(session.scalars(q))


def expire_duty_checks(session: Session, now: dt.datetime, timeout_s: float,
                       hall_ids: list[str] | None = None) -> list[DutyCheck]:
    """Duty checks no edge answered within ``timeout_s`` are closed as failed (the sheet says why)."""
    cutoff = now - dt.timedelta(seconds=timeout_s)
    q = select(DutyCheck).where(DutyCheck.status == "pending", DutyCheck.requested_at <= cutoff)
    if hall_ids is not None:
        q = q.where(DutyCheck.hall_id.in_(hall_ids))
    expired = list(session.scalars(q))
    for chk in expired:
        chk.status, chk.note = "failed", f"no edge answered within {timeout_s:g} s"
        audit(session, actor="system", action="duty_check.expire", entity_type="duty_check", entity_id=chk.id,
              before={"status": "pending"}, after={"status": "failed", "note": chk.note})
        CHECKS.inc(kind="duty", trigger="manual", outcome="no_answer")
        events.after_commit(session, {"type": "duty_check.result", "hall_id": chk.hall_id,
                                      "request_id": chk.request_id})
    return expired


def sign_safety_check(session: Session, chk: SafetyCheck, user: User, comment: str | None) -> SafetyCheck:
    if chk.status == "pending":
        raise ValueError("the check has no result yet")
    if chk.signed_at is not None:
        raise ValueError(f"already signed by {chk.signed_name}")
    if chk.trigger == "preview":
        raise ValueError("a preview run during service hours is not signed")
    chk.signed_by, chk.signed_name, chk.signed_at = user.id, user.display_name or user.username, utcnow()
    chk.sign_comment = (comment or "").strip() or None
    audit(session, actor=user.username, user_id=user.id, action="safety_check.sign", entity_type="safety_check",
          entity_id=chk.id, after={"signed_name": chk.signed_name, "comment": chk.sign_comment})
    events.after_commit(session, {"type": "console.safety_check", "id": chk.id, "hall_id": chk.hall_id,
                                  "status": chk.status})
    return chk


def in_service_hours(hall: Hall, now: dt.datetime) -> bool:
    """True while the hall is open or before its closing grace has passed (the safety check would judge a working
    hall); False after hours, on closed days and for halls without a site config."""
    cfg = site_config(hall)
    if cfg is None:
        return False
    return not cfg.schedule.after_hours(cfg.local(now))


def auto_checks_done(session: Session, hall: Hall, day_start: dt.datetime) -> bool:
    """Has an automatic check been created for the hall since ``day_start`` (aware, hall-local midnight)?"""
    return session.scalars(select(SafetyCheck.id).where(SafetyCheck.hall_id == hall.id, SafetyCheck.trigger == "auto",
                                                        SafetyCheck.requested_at >= day_start)).first() is not None
