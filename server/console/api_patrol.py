"""Console API: the patrol log (巡查记录: findings with photo from a phone, and confirmed alerts) and shift handovers."""

from __future__ import annotations

import hashlib
import io
import logging
from typing import Any

from fastapi import APIRouter, File, Form, HTTPException, Request, Response, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
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


MAX_SIGNATURE_BYTES = 512 * 1024


class HandoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hall_id: str = Field(min_length=1, max_length=64, description="Hall.")
    to_user_id: int = Field(ge=1, le=2**31 - 1, description="Incoming officer (接班人): a user of the hall.")
    notes: str = Field(default="", max_length=4000, description="Handover notes (交接事项).")
    signature_png: str = Field(min_length=1, max_length=2 * MAX_SIGNATURE_BYTES,
                               description="The outgoing officer's drawn signature: a PNG data URL.")
    idempotency_key: str = Field(pattern=r"^[0-9a-fA-F-]{8,36}$",
                                 description="Client-chosen key; submitting the same key again returns the first one.")


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signature_png: str = Field(min_length=1, max_length=2 * MAX_SIGNATURE_BYTES,
                               description="The incoming officer's drawn signature: a PNG data URL.")


def _store_signature(request: Request, session: Session, data_url: str, hall_id: str) -> str:
    """Decode a drawn signature (PNG data URL), refuse empty drawings, store it as evidence; its SHA-256."""
    import base64
    import binascii

    from PIL import Image, UnidentifiedImageError

    prefix = "data:image/png;base64,"
    if not data_url.startswith(prefix):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "signature must be a PNG data URL")
    try:
        data = base64.b64decode(data_url[len(prefix):], validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "signature is not valid base64") from None
    if len(data) > MAX_SIGNATURE_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "signature image too large")
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "PNG" or im.width * im.height > 4_000_000:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "signature must be a PNG of sensible size")
            ink = im.convert("RGBA").getchannel("A").getbbox()
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "signature is not a readable PNG") from None
    if ink is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "signature is empty: draw it in the box")
    sha = hashlib.sha256(data).hexdigest()
    request.app.state.store.put(sha, io.BytesIO(data))
    ev = session.get(Evidence, sha)
    if ev is None:
        session.add(Evidence(sha256=sha, kind="signature", content_type="image/png", size=len(data),
                             captured_at=utcnow(), stored=True, stored_at=utcnow()))
    session.flush()
    record_hall(session, sha, hall_id)
    return sha


def handover_summary(session: Session, hall_id: str) -> dict[str, Any]:
    """What the outgoing officer hands over: the hall's open alerts and its last safety check."""
    from server.console.views import alert_view, safety_view
    from server.db import Finding, SafetyCheck

    alerts = session.scalars(select(Alert).join(Finding, Alert.finding_id == Finding.id)
                             .where(Alert.hall_id == hall_id, Alert.status.in_(("open", "acknowledged")))
                             .order_by(Finding.started_at.desc()).limit(100))
    open_alerts = []
    for a in alerts:
        v = alert_view(session, a)
        open_alerts.append({k: v[k] for k in ("id", "rule", "rule_name", "severity", "status", "started_at",
                                              "window_id", "window_name", "window_number", "sensor_name")})
    chk = session.scalars(select(SafetyCheck).where(SafetyCheck.hall_id == hall_id, SafetyCheck.trigger != "preview")
                          .order_by(SafetyCheck.requested_at.desc())).first()
    last = None
    if chk is not None:
        v = safety_view(session, chk, with_items=False)
        last = {k: v[k] for k in ("id", "trigger", "status", "outcome", "started_at", "signed_by", "signed_at")}
    return {"open_alerts": open_alerts, "last_safety_check": last}


def handover_view(session: Session, h: Handover) -> dict[str, Any]:
    from server.console.views import user_name

    return {"id": h.id, "hall_id": h.hall_id, "status": h.status or "accepted",
            "from_name": user_name(session, h.user_id) or h.handed_by, "from_user_id": h.user_id,
            "to_name": user_name(session, h.to_user_id) or h.received_by, "to_user_id": h.to_user_id,
            "notes": h.note, "signed_at": iso(h.signed_at), "received_at": iso(h.received_at),
            "from_signature": h.from_signature, "to_signature": h.to_signature,
            "summary": h.summary or {"open_alerts": [], "last_safety_check": None}}


def _receivers(session: Session, hall_id: str, me: User) -> list[User]:
    from server.deps import ROLE_RANK

    rows = session.scalars(select(User).where(User.active.is_(True), User.id != me.id,
                                              (User.hall_id == hall_id) | User.hall_id.is_(None))
                           .order_by(User.display_name, User.username))
    return [u for u in rows if ROLE_RANK.get(u.role, -1) >= ROLE_RANK["inspector"]]


@router.get("/handovers/receivers", summary="Who may take over a shift in the hall (inspector or higher)")
def list_receivers(hall_id: str, user: ViewerUser, session: SessionDep) -> list[dict[str, Any]]:
    require(user, "handover")
    check_hall(user, session.get(Hall, hall_id), hall_id)
    return [{"id": u.id, "name": u.display_name or u.username} for u in _receivers(session, hall_id, user)]


@router.get("/handovers/summary", summary="What a handover now would list: open alerts, last safety check")
def get_handover_summary(hall_id: str, user: ViewerUser, session: SessionDep) -> dict[str, Any]:
    require(user, "handover")
    check_hall(user, session.get(Hall, hall_id), hall_id)
    return handover_summary(session, hall_id)


@router.post("/handovers", status_code=201, summary="Shift handover (交接班): the outgoing officer signs")
def add_handover(body: HandoverIn, request: Request, response: Response, user: ViewerUser,
                 session: SessionDep) -> dict[str, Any]:
    require(user, "handover")
    check_hall(user, session.get(Hall, body.hall_id), body.hall_id)
    key = body.idempotency_key.lower()
    same = session.scalars(select(Handover).where(Handover.idempotency_key == key)).first()
    if same is not None:
        if same.user_id != user.id or same.hall_id != body.hall_id:
            raise HTTPException(status.HTTP_409_CONFLICT, "idempotency key already used for another handover")
        response.status_code = status.HTTP_200_OK
        return handover_view(session, same)
    to = session.get(User, body.to_user_id)
    if to is None or to.id not in {u.id for u in _receivers(session, body.hall_id, user)}:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "the incoming officer must be another active inspector (or higher) of this hall")
    sha = _store_signature(request, session, body.signature_png, body.hall_id)
    me = user.display_name or user.username
    h = Handover(hall_id=body.hall_id, handed_by=me, received_by=to.display_name or to.username,
                 note=body.notes.strip() or None, user_id=user.id, signed_at=utcnow(), status="pending",
                 to_user_id=to.id, from_signature=sha, idempotency_key=key,
                 summary=handover_summary(session, body.hall_id))
    session.add(h)
    try:
        session.flush()
    except IntegrityError:  # the same key submitted twice at once: the other request stored it
        session.rollback()
        same = session.scalars(select(Handover).where(Handover.idempotency_key == key)).one()
        response.status_code = status.HTTP_200_OK
        return handover_view(session, same)
    audit(session, actor=user.username, user_id=user.id, action="handover.sign", entity_type="handover",
          entity_id=h.id, after={"hall_id": h.hall_id, "from_user_id": user.id, "to_user_id": to.id,
                                 "signature": sha, "open_alerts": len(h.summary["open_alerts"])})
    return handover_view(session, h)


@router.post("/handovers/{handover_id}/accept", summary="The incoming officer accepts the handover and signs")
def accept_handover(handover_id: int, body: AcceptIn, request: Request, user: ViewerUser,
                    session: SessionDep) -> dict[str, Any]:
    require(user, "handover")
    h = session.get(Handover, handover_id)
    if h is None or not may_see_hall(user, h.hall_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"handover {handover_id} not found")
    if h.to_user_id != user.id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the incoming officer named in the handover may accept it")
    if h.status == "accepted":
        return handover_view(session, h)  # a repeated tap changes nothing
    if h.status != "pending":
        raise HTTPException(status.HTTP_409_CONFLICT, "this handover cannot be accepted")
    h.to_signature = _store_signature(request, session, body.signature_png, h.hall_id)
    h.status, h.received_at = "accepted", utcnow()
    audit(session, actor=user.username, user_id=user.id, action="handover.accept", entity_type="handover",
          entity_id=h.id, after={"signature": h.to_signature})
    return handover_view(session, h)


@router.get("/handovers", summary="Handovers of a hall (newest first)")
def list_handovers(hall_id: str, user: ViewerUser, session: SessionDep, limit: int = 50) -> list[dict[str, Any]]:
    if not may_see_hall(user, hall_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"hall {hall_id!r} not found")
    rows = session.scalars(select(Handover).where(Handover.hall_id == hall_id)
                           .order_by(Handover.signed_at.desc()).limit(max(1, min(limit, 200))))
    return [handover_view(session, h) for h in rows]
