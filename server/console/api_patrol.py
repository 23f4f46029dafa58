"""Console API: the patrol log (巡查记录: findings with photo from a phone, and confirmed alerts) and shift handovers."""

from __future__ import annotations

import hashlib
import io
import logging
from typing import Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from edge.contract import RULES
from server.audit import audit
from server.console.permissions import check_hall, may_see_hall, require
from server.console.views import iso
from server.db import Alert, Evidence, Hall, Handover, PatrolFinding, User, Window, utcnow
from server.deps import SessionDep, ViewerUser
from server.evidence_access import record_hall
from server.storage import SNIFF_BYTES, sniff_media_type

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/console", tags=["console patrol"])

CATEGORIES = ("discipline", "service", "environment", "safety", "equipment", "other")
MAX_PHOTO_BYTES = 15 * 1024 * 1024
RULE_CATEGORY = {
    "exit_blocked": "safety", "exit_locked_during_hours": "safety", "door_open_after_hours": "safety",
    "power_left_on": "safety", "high_power_appliance": "safety", "smoke_detected": "safety",
    "after_hours_presence": "safety", "sensor_offline": "equipment", "camera_offline": "equipment",
    "camera_frozen": "equipment", "camera_covered": "equipment",
}


def finding_view(session: Session, f: PatrolFinding) -> dict[str, Any]:
    w = session.get(Window, f.window_id) if f.window_id else None
    return {"id": f.id, "hall_id": f.hall_id, "category": f.category, "window_id": w.code if w else None,
            "window_name": f"{w.number} {w.name}" if w else None, "description": f.description,
            "photo_sha256": f.photo_sha256, "inspector": f.inspector_name, "alert_id": f.alert_id,
            "created_at": iso(f.created_at)}


def patrol_from_confirmed_alert(session: Session, alert: Alert, action: str, user: User | None) -> None:
    """TRANSITION_HOOKS entry: confirming an alert records it in the patrol log (once per alert)."""
    if action != "confirm":
        return
    if session.scalars(select(PatrolFinding.id).where(PatrolFinding.alert_id == alert.id)).first() is not None:
        return
    f = alert.finding
    comment = next((e.comment for e in reversed(alert.events) if e.action == "confirm"), None)
    snap = next((link.sha256 for link in f.evidence_links if (link.kind or "") in ("snapshot", "frame")), None)
    name = (user.display_name or user.username) if user else "system"
    pf = PatrolFinding(hall_id=alert.hall_id, category=RULE_CATEGORY.get(f.rule, "discipline"), window_id=f.window_id,
                       description=f"{RULES.get(f.rule, f.rule)}（告警 #{alert.id}）" + (f"：{comment}" if comment else ""),
                       photo_sha256=snap, inspector_id=user.id if user else None, inspector_name=name,
                       alert_id=alert.id)
    session.add(pf)
    session.flush()
    audit(session, actor=name, user_id=user.id if user else None, action="patrol_finding.create",
          entity_type="patrol_finding", entity_id=pf.id, after={"alert_id": alert.id, "category": pf.category})


async def _store_photo(request: Request, session: Session, photo: UploadFile, hall_id: str) -> str:
    data = await photo.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"photo larger than {MAX_PHOTO_BYTES} bytes")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
            fmt = (im.format or "").lower()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"photo is not a readable image: {exc}") from None
    media = sniff_media_type(data[:SNIFF_BYTES])
    if media not in ("image/jpeg", "image/png") or fmt not in ("jpeg", "png"):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "photo must be a JPEG or PNG image")
    sha = hashlib.sha256(data).hexdigest()
    request.app.state.store.put(sha, io.BytesIO(data))
    ev = session.get(Evidence, sha)
    if ev is None:
        session.add(Evidence(sha256=sha, kind="photo", content_type=media, size=len(data),
                             captured_at=utcnow(), stored=True, stored_at=utcnow()))
    elif not ev.stored:
        ev.stored, ev.stored_at = True, utcnow()
    session.flush()
    record_hall(session, sha, hall_id)
    return sha


@router.post("/patrol-findings", status_code=201, summary="Add a patrol finding (multipart, optional photo)")
async def add_patrol_finding(request: Request, user: ViewerUser, session: SessionDep,
                             hall_id: str = Form(description="Hall."),
                             category: str = Form(description=f"One of {', '.join(CATEGORIES)}."),
                             description: str = Form(min_length=1, max_length=4000, description="What was found."),
                             window_id: str = Form(default="", description="Window code, if any."),
                             photo: UploadFile | None = File(default=None, description="Photo (JPEG/PNG).")
                             ) -> dict[str, Any]:
    require(user, "patrol")
    check_hall(user, session.get(Hall, hall_id), hall_id)
    if category not in CATEGORIES:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"category must be one of {', '.join(CATEGORIES)}")
    window = None
    if window_id:
        window = session.scalars(select(Window).where(Window.hall_id == hall_id, Window.code == window_id)).first()
        if window is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"window {window_id!r} not in hall {hall_id}")
    sha = await _store_photo(request, session, photo, hall_id) if photo is not None and photo.filename else None
    name = user.display_name or user.username
    pf = PatrolFinding(hall_id=hall_id, category=category, window_id=window.id if window else None,
                       description=description.strip(), photo_sha256=sha, inspector_id=user.id, inspector_name=name)
    session.add(pf)
    session.flush()
    audit(session, actor=user.username, user_id=user.id, action="patrol_finding.create",
          entity_type="patrol_finding", entity_id=pf.id,
          after={"hall_id": hall_id, "category": category, "window": window_id or None, "photo": sha})
    return finding_view(session, pf)


@router.get("/patrol-findings", summary="Patrol log of a hall (newest first)")
def list_patrol_findings(hall_id: str, user: ViewerUser, session: SessionDep, limit: int = 100) -> list[dict[str, Any]]:
    check_hall(user, session.get(Hall, hall_id), hall_id)
    rows = session.scalars(select(PatrolFinding).where(PatrolFinding.hall_id == hall_id)
                           .order_by(PatrolFinding.created_at.desc(), PatrolFinding.id.desc())
                           .limit(max(1, min(limit, 500))))
    return [finding_view(session, r) for r in rows]


class HandoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hall_id: str = Field(min_length=1, description="Hall.")
    to_name: str = Field(min_length=1, max_length=100, description="Incoming officer (接班人).")
    notes: str = Field(default="", max_length=4000, description="Handover notes (交接事项).")
    signature: str = Field(min_length=1, max_length=100, description="Signature name of the outgoing officer.")


def handover_view(h: Handover) -> dict[str, Any]:
    return {"id": h.id, "hall_id": h.hall_id, "from_name": h.handed_by, "to_name": h.received_by,
            "notes": h.note, "signature": h.handed_by, "signed_at": iso(h.signed_at)}


@router.post("/handovers", status_code=201, summary="Shift handover (交接班) signed with name and time")
def add_handover(body: HandoverIn, user: ViewerUser, session: SessionDep) -> dict[str, Any]:
    require(user, "handover")
    check_hall(user, session.get(Hall, body.hall_id), body.hall_id)
    h = Handover(hall_id=body.hall_id, handed_by=body.signature.strip(), received_by=body.to_name.strip(),
                 note=body.notes.strip() or None, user_id=user.id, signed_at=utcnow())
    session.add(h)
    session.flush()
    audit(session, actor=user.username, user_id=user.id, action="handover.sign", entity_type="handover",
          entity_id=h.id, after={"hall_id": h.hall_id, "handed_by": h.handed_by, "received_by": h.received_by})
    return handover_view(h)


@router.get("/handovers", summary="Handovers of a hall (newest first)")
def list_handovers(hall_id: str, user: ViewerUser, session: SessionDep, limit: int = 50) -> list[dict[str, Any]]:
    if not may_see_hall(user, hall_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"hall {hall_id!r} not found")
    rows = session.scalars(select(Handover).where(Handover.hall_id == hall_id)
                           .order_by(Handover.signed_at.desc()).limit(max(1, min(limit, 200))))
    return [handover_view(h) for h in rows]
