"""JSON views the console shows: alerts (list row and detail), the hall board, duty and safety checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from edge.contract import RULES
from edge.site import SiteConfig
from server.console.safety import ITEMS, sensor_is_online
from server.console.wording import detail_zh
from server.db import (
    Alert,
    Camera,
    DutyCheck,
    Edge,
    Evidence,
    Finding,
    Hall,
    PatrolFinding,
    RosterAssignment,
    SafetyCheck,
    Sensor,
    SensorReadingRow,
    Staff,
    User,
    Window,
    utcnow,
)


def iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t else None


def site_config(hall: Hall) -> SiteConfig | None:
    """The hall's imported site config, or None when the hall has none (or it no longer validates)."""
    if not hall.config:
        return None
    try:
        return SiteConfig.model_validate(hall.config)
    except ValueError:
        return None


def _code(session: Session, model: Any, pk: int | None) -> Any:
    return session.get(model, pk) if pk is not None else None


def location(w: Window | None, cam: Camera | None, sen: Sensor | None, zone: str | None) -> str | None:
    """Where the alert is, as people name it: the window, else the sensor, else the camera (and zone)."""
    if w is not None:
        return f"{w.number} {w.name}"
    if sen is not None:
        return sen.name or sen.code
    if cam is not None:
        return f"{cam.name or cam.code}{' · ' + zone if zone else ''}"
    return zone


def display_names(session: Session, logins: set[str]) -> dict[str, str]:
    """login → display name for the users among ``logins`` (system actors are left as they are)."""
    logins = {x for x in logins if x}
    if not logins:
        return {}
    rows = session.execute(select(User.username, User.display_name).where(User.username.in_(logins)))
    return {u: d for u, d in rows if d}


def alert_view(session: Session, alert: Alert, detail: bool = False) -> dict[str, Any]:
    f: Finding = alert.finding
    w = _code(session, Window, f.window_id)
    cam = _code(session, Camera, f.camera_id)
    sen = _code(session, Sensor, f.sensor_id)
    evidence = [{"sha256": link.sha256, "kind": link.kind or link.evidence.kind,
                 "content_type": link.evidence.content_type, "stored": link.evidence.stored,
                 "captured_at": iso(link.evidence.captured_at)} for link in f.evidence_links]
    snap = next((e["sha256"] for e in evidence if e["kind"] == "snapshot"), None)
    view: dict[str, Any] = {
        "id": alert.id, "hall_id": alert.hall_id, "status": alert.status, "escalated": alert.escalated,
        "rule": f.rule, "rule_name": RULES.get(f.rule, f.rule), "severity": f.severity,
        "window_id": w.code if w else None, "window_name": w.name if w else None,
        "window_number": w.number if w else None,
        "camera_id": cam.code if cam else None, "camera_name": cam.name if cam else None,
        "sensor_id": sen.code if sen else None,
        "sensor_name": sen.name if sen else None,
        "started_at": iso(f.started_at), "ended_at": iso(f.ended_at), "duration_s": f.duration_s,
        "finding_status": f.status, "created_at": iso(alert.created_at), "snapshot_sha256": snap,
        "summary": " ".join(str(v) for v in (f.details or {}).values() if isinstance(v, (str, int, float)))[:200],
        "location": location(w, cam, sen, f.zone_code),
    }
    if detail:
        view["details"] = f.details or {}
        view["evidence"] = evidence
        view["confidence"] = f.confidence
        names = display_names(session, {e.actor for e in alert.events})
        view["timeline"] = [{"at": iso(e.at), "action": e.action, "from_status": e.from_status,
                             "to_status": e.to_status, "actor": names.get(e.actor, e.actor), "actor_login": e.actor,
                             "comment": e.comment} for e in alert.events]
        pf = session.scalars(select(PatrolFinding.id).where(PatrolFinding.alert_id == alert.id)).first()
        view["patrol_finding_id"] = pf
        view["readings"] = []
        if sen is not None:
            start = f.started_at - dt.timedelta(minutes=15)
            end = (f.ended_at or utcnow()) + dt.timedelta(minutes=5)
            rows = session.scalars(
                select(SensorReadingRow).where(SensorReadingRow.hall_id == alert.hall_id,
                                               SensorReadingRow.sensor_code == sen.code,
                                               SensorReadingRow.at >= start, SensorReadingRow.at <= end)
                .order_by(SensorReadingRow.at).limit(2000))
            view["readings"] = [{"at": iso(r.at), "kind": r.kind, "unit": r.unit,
                                 "value": r.value_num if r.value_num is not None else r.value_text} for r in rows]
    return view


def roster_names(session: Session, hall_id: str, day: dt.date) -> dict[int, dict[str, dict[str, str]]]:
    """window pk → {"A": {id, name}, "B": {...}} valid on ``day``."""
    q = (select(RosterAssignment, Staff).join(Staff, RosterAssignment.staff_id == Staff.id)
         .join(Window, RosterAssignment.window_id == Window.id)
         .where(Window.hall_id == hall_id, RosterAssignment.valid_from <= day,
                (RosterAssignment.valid_to.is_(None)) | (RosterAssignment.valid_to >= day))
         .order_by(RosterAssignment.valid_from))
    out: dict[int, dict[str, dict[str, str]]] = {}
    for ra, st in session.execute(q):
        out.setdefault(ra.window_id, {})[ra.role] = {"id": st.code, "name": st.name}
    return out


def hall_summary(hall: Hall) -> dict[str, Any]:
    return {"id": hall.id, "name": hall.name, "timezone": hall.timezone,
            "windows": [{"id": w.code, "number": w.number, "name": w.name} for w in hall.windows if w.active]}


def board_view(session: Session, hall: Hall, now: dt.datetime) -> dict[str, Any]:
    cfg = site_config(hall)
    phase = None
    if cfg is not None:
        phase = cfg.schedule.phase(cfg.local(now))
    today = now.astimezone(cfg.tz).date() if cfg else now.date()
    roster = roster_names(session, hall.id, today)
    open_by_window: dict[int | None, int] = {}
    q = (select(Finding.window_id).join(Alert, Alert.finding_id == Finding.id)
         .where(Alert.hall_id == hall.id, Alert.status.in_(("open", "acknowledged"))))
    for (wid,) in session.execute(q):
        open_by_window[wid] = open_by_window.get(wid, 0) + 1
    windows = []
    for w in hall.windows:
        if not w.active:
            continue
        windows.append({
            "id": w.code, "number": w.number, "name": w.name, "business": w.business, "closed": w.closed,
            "midday_duty": w.midday_duty, "state": "closed" if w.closed else w.live_state, "since": iso(w.live_since),
            "persons": w.live_persons, "staff_a": roster.get(w.id, {}).get("A"), "staff_b": roster.get(w.id, {}).get("B"),
            "open_alerts": open_by_window.get(w.id, 0),
        })
    cams = session.scalars(select(Camera).where(Camera.hall_id == hall.id, Camera.active.is_(True)).order_by(Camera.code))
    sens = session.scalars(select(Sensor).where(Sensor.hall_id == hall.id, Sensor.active.is_(True)).order_by(Sensor.code))
    edges = session.scalars(select(Edge).where(Edge.hall_id == hall.id).order_by(Edge.code))

    sensor_cfg = {x.id: x for x in cfg.sensors} if cfg is not None else {}
    cam_fps = {x.id: x.fps for x in cfg.cameras} if cfg is not None else {}

    def online(s: Sensor) -> bool | None:
        """The same judgement the safety check makes: edge report plus silence against the expected interval."""
        sc = sensor_cfg.get(s.code)
        if sc is None:
            return s.online
        return sensor_is_online(cfg, sc, s.last_seen, s.online, now)[0]

    def last_value(s: Sensor) -> str:
        lv = s.last_value or {}
        return fmt_reading(lv.get("value"), lv.get("unit")) if lv else ""

    return {
        "hall": hall_summary(hall), "phase": phase, "phase_label": phase or "",
        "windows": windows,
        "cameras": [camera_health(c, cam_fps.get(c.code)) for c in cams],
        "sensors": [{"id": s.code, "name": s.name, "kind": s.kind, "online": online(s), "last_seen": iso(s.last_seen),
                     "reading": {"kind": (s.last_value or {}).get("kind"), "value": (s.last_value or {}).get("value")},
                     "value": last_value(s)} for s in sens],
        "edges": [{"id": e.code, "online": e.online, "last_seen": iso(e.last_seen), "version": e.version} for e in edges],
    }


def fmt_reading(value: Any, unit: str | None) -> str:
    """A reading as people read it: at most two decimals with thousands separators, then the unit."""
    if isinstance(value, float) and not isinstance(value, bool):
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
    elif value is None:
        text = ""
    else:
        text = str(value)
    return f"{text} {unit}".strip() if unit else text


SLOW_FPS_RATIO = 0.8  # a camera analysed at less than this share of its configured rate is shown as slow


def camera_health(c: Camera, expected_fps: float | None) -> dict[str, Any]:
    """A camera line of the board: ``slow`` when the edge reports it ok but analyses far fewer frames than set."""
    state = c.health
    if state == "ok" and expected_fps and c.fps is not None and c.fps < SLOW_FPS_RATIO * expected_fps:
        state = "slow"
    return {"id": c.code, "name": c.name, "state": state, "fps": c.fps, "expected_fps": expected_fps,
            "lag_s": c.lag_s, "last_seen": iso(c.last_seen)}


def user_name(session: Session, user_id: int | None) -> str | None:
    u = session.get(User, user_id) if user_id is not None else None
    return (u.display_name or u.username) if u else None


def duty_view(session: Session, check: DutyCheck, with_windows: bool = True) -> dict[str, Any]:
    hall = session.get(Hall, check.hall_id)
    windows = [w for w in hall.windows if w.active] if hall else []
    by_code = {r.window_code: r for r in check.windows}
    tz_day = check.requested_at.date()
    cfg = site_config(hall) if hall else None
    if cfg is not None:
        tz_day = check.requested_at.astimezone(cfg.tz).date()
    roster = roster_names(session, check.hall_id, tz_day)
    shas = {sha for r in check.windows for sha in (r.evidence or []) if isinstance(sha, str)}
    stored = set(session.scalars(select(Evidence.sha256).where(Evidence.sha256.in_(shas), Evidence.stored.is_(True)))
                 ) if shas else set()
    waiting = len(shas - stored)
    status = "uploading" if check.status == "complete" and waiting else check.status
    view: dict[str, Any] = {
        "id": check.id, "hall_id": check.hall_id, "status": status, "note": check.note,
        "pictures_waiting": waiting,
        "requested_at": iso(check.requested_at),
        "completed_at": iso(check.completed_at), "requested_by": user_name(session, check.requested_by),
        "windows_total": len(windows), "windows_answered": sum(1 for w in windows if w.code in by_code),
    }
    if with_windows:
        rows = []
        for w in windows:
            r = by_code.get(w.code)
            rows.append({
                "window_id": w.code, "number": w.number, "name": w.name,
                "state": "closed" if (w.closed and r is None) else (r.state if r else None),
                "persons": r.persons if r else None, "camera_id": r.camera_code if r else None,
                "snapshot_sha256": next((x for x in (r.evidence or []) if x in stored), None) if r else None,
                "picture_waiting": bool(r and any(x not in stored for x in (r.evidence or []))),
                "taken_at": iso(r.taken_at) if r else None,
                "staff_a": (roster.get(w.id, {}).get("A") or {}).get("name"),
                "staff_b": (roster.get(w.id, {}).get("B") or {}).get("name"),
            })
        view["windows"] = rows
    return view


def safety_view(session: Session, check: SafetyCheck, with_items: bool = True) -> dict[str, Any]:
    outcome = None if check.status == "pending" else check.status
    view: dict[str, Any] = {
        "id": check.id, "hall_id": check.hall_id, "trigger": check.trigger, "status": check.status,
        "preview": check.trigger == "preview",
        "outcome": outcome, "started_at": iso(check.requested_at), "completed_at": iso(check.completed_at),
        "requested_by": user_name(session, check.requested_by), "signed_by": check.signed_name,
        "signed_at": iso(check.signed_at), "sign_comment": check.sign_comment,
    }
    if with_items:
        view["items"] = [{
            "item": it.item, "item_name": ITEMS.get(it.item, (it.item,))[0], "subject": it.subject,
            "subject_name": (it.value or {}).get("subject_name", it.subject), "passed": it.passed,
            "detail": it.detail, "detail_zh": detail_zh(it.detail),
            "value": (it.value or {}).get("value"), "source": (it.value or {}).get("source"),
            "evidence": [{"sha256": e, "kind": "snapshot"} if isinstance(e, str) else e for e in (it.evidence or [])],
            "alert_id": it.alert_id, "edge_id": it.edge_code,
        } for it in check.items]
    return view
